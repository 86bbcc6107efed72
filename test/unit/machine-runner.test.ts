/**
 * MachineRunner's own contract, on small machines: the Actor's delivery rules (an event sent
 * from an action is processed after the current one; observers see each snapshot), delays on
 * the given clock (cancelled on exit and on stop), a throwing action as the machine's error
 * (observers told, nothing processed after), and machines it cannot run refused by name.
 * The connection machine itself: test/properties/machine-runner.test.ts (runner ≡ Actor).
 */
import { describe, expect, it } from 'vitest';
import { assign, fromPromise, setup, SimulatedClock } from 'xstate';
import { MachineRunner } from '../../src/runtime/machine-runner.js';

const counter = setup({
  types: { context: {} as { log: string[] }, events: {} as { type: 'a' } | { type: 'b' } | { type: 'boom' } | { type: 'go' } },
  delays: { later: 100 },
  actions: {
    note: assign(({ context, event }) => ({ log: [...context.log, event.type] })),
    explode: () => {
      throw new Error('exploded');
    },
  },
}).createMachine({
  context: { log: [] },
  initial: 'idle',
  states: {
    idle: {
      on: {
        a: { actions: ['note', ({ self }) => self.send({ type: 'b' })] },
        b: { actions: 'note' },
        boom: { actions: 'explode' },
        go: 'waiting',
      },
    },
    waiting: { after: { later: 'done' }, on: { a: 'idle' } },
    done: { type: 'final' },
  },
});

describe('MachineRunner', () => {
  it('processes an event sent from an action after the current one, and tells observers each snapshot', () => {
    const runner = new MachineRunner(counter).start();
    const seen: string[][] = [];
    runner.subscribe({ next: (snapshot) => seen.push(snapshot.context.log) });
    runner.send({ type: 'a' });
    expect(runner.getSnapshot().context.log).toEqual(['a', 'b']);
    expect(seen).toEqual([['a'], ['a', 'b']]);
  });

  it('fires `after` on its clock, cancels it when the state is left, and completes at a final state', () => {
    const clock = new SimulatedClock();
    const runner = new MachineRunner(counter, { clock }).start();
    let completed = false;
    runner.subscribe({ complete: () => (completed = true) });
    runner.send({ type: 'go' });
    expect(runner.pendingDelays()).toHaveLength(1);
    runner.send({ type: 'a' });
    expect(runner.pendingDelays()).toHaveLength(0);
    clock.increment(1000);
    expect(runner.getSnapshot().value).toBe('idle');
    runner.send({ type: 'go' });
    clock.increment(99);
    expect(runner.getSnapshot().value).toBe('waiting');
    clock.increment(1);
    expect(runner.getSnapshot().status).toBe('done');
    expect(completed).toBe(true);
  });

  it('stop cancels pending delays and completes; later events are ignored', () => {
    const clock = new SimulatedClock();
    const runner = new MachineRunner(counter, { clock }).start();
    let completed = false;
    runner.subscribe({ complete: () => (completed = true) });
    runner.send({ type: 'go' });
    runner.stop();
    expect(completed).toBe(true);
    expect(runner.getSnapshot().status).toBe('stopped');
    expect(runner.pendingDelays()).toHaveLength(0);
    clock.increment(1000);
    runner.send({ type: 'a' });
    expect(runner.getSnapshot().status).toBe('stopped');
  });

  it('a throwing action is the machine\'s error: observers are told once, nothing after is processed', () => {
    const runner = new MachineRunner(counter).start();
    const errors: unknown[] = [];
    runner.subscribe({ error: (error) => errors.push(error) });
    runner.send({ type: 'boom' });
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('exploded');
    expect(runner.getSnapshot().status).toBe('error');
    runner.send({ type: 'a' });
    expect(runner.getSnapshot().status).toBe('error');
  });

  it('refuses a machine that invokes an actor, as its error', () => {
    const invoking = setup({ actors: { work: fromPromise(async () => 1) } }).createMachine({
      initial: 'a',
      states: { a: { on: { go: 'b' } }, b: { invoke: { src: 'work' } } },
    });
    const runner = new MachineRunner(invoking).start();
    const errors: unknown[] = [];
    runner.subscribe({ error: (error) => errors.push(error) });
    runner.send({ type: 'go' });
    expect(runner.getSnapshot().status).toBe('error');
    expect(errors).toHaveLength(1);
    expect(String(errors[0])).toContain('needs an Actor');
  });
});
