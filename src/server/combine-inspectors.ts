/** xstate takes one `inspect` observer per actor; lockstep may need two (Stately, the recorder). */
import type { InspectionEvent } from 'xstate';
import type { Inspect } from './options.js';

function call(inspect: Inspect, event: InspectionEvent): void {
  if (typeof inspect === 'function') inspect(event);
  else inspect.next?.(event);
}

/** One observer that hands every inspection event to each given one; undefined when none. */
export function combineInspectors(...inspectors: Array<Inspect | undefined>): Inspect | undefined {
  const present = inspectors.filter((i): i is Inspect => i !== undefined);
  if (present.length <= 1) return present[0];
  return (event: InspectionEvent) => {
    for (const inspect of present) call(inspect, event);
  };
}
