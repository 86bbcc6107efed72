import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import type { AnyStateMachine } from 'xstate';
import { MACHINES, renderAll } from '../../src/viz/generate.js';
import { chartOf, type ChartState } from '../../src/viz/chart-model.js';

/** Rendered once per file: laying out four charts is the slow part. */
let rendered: Promise<Record<string, string>> | undefined;
const rendering = () => (rendered ??= renderAll());

describe('visualizations/', () => {
  it('is up to date with the machines (run `npm run viz`)', async () => {
    for (const [file, text] of Object.entries(await rendering())) {
      const committed = readFileSync(new URL(`../../visualizations/${file}`, import.meta.url), 'utf8');
      expect(committed, `visualizations/${file} is stale: run npm run viz`).toBe(text);
    }
  });

  it('draws every state of the connection machine', async () => {
    const chart = (await rendering())['connection.mmd'] ?? '';
    for (const state of ['handshaking', 'authenticating', 'awaitingCredentials', 'verifying', 'checkingBackend', 'joining', 'ready', 'closing', 'terminating', 'closed', 'awaitingPong']) {
      expect(chart).toContain(`"${state}`);
    }
  });
});

describe('visualizations/ generated formats', () => {
  it('renders the same bytes twice (deterministic layout and SVG)', async () => {
    expect(await renderAll()).toEqual(await rendering());
  });

  it('draws every state of every machine in its SVG, each once, addressable by id', async () => {
    const files = await rendering();
    for (const [name, machine] of Object.entries(MACHINES)) {
      const svg = files[`${name}.svg`] ?? '';
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
      for (const id of stateIds(machine)) {
        expect(svg.split(`data-state="${id}"`).length - 1, `${name}.svg draws ${id}`).toBe(1);
      }
    }
  });

  it('labels every transition in the SVG: events, guards by name, delays by name', async () => {
    const files = await rendering();
    for (const [name, machine] of Object.entries(MACHINES)) {
      const svg = files[`${name}.svg`] ?? '';
      for (const t of chartOf(machine).transitions) {
        const label = t.guard ? `${t.event} [${t.guard}]` : t.event;
        expect(svg, `${name}.svg labels ${label}`).toContain(`>${label.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</tspan>`);
      }
    }
    expect(files['connection.svg']).toContain('>after heartbeat</tspan>');
    expect(files['connection.svg']).toContain('>after closeTimeout</tspan>');
  });

  it('Stately definitions compile with xstate to the same states, transitions, guards and delays', async () => {
    const definitions = {
      connection: (await import('../../visualizations/connection.stately.js')).connectionChart,
      'agent-run': (await import('../../visualizations/agent-run.stately.js')).agentRunChart,
      'server-lifecycle': (await import('../../visualizations/server-lifecycle.stately.js')).serverLifecycleChart,
      'lease-keeper': (await import('../../visualizations/lease-keeper.stately.js')).leaseKeeperChart,
      client: (await import('../../visualizations/client.stately.js')).clientChart,
    };
    for (const [name, machine] of Object.entries(MACHINES)) {
      const pasted = definitions[name as keyof typeof definitions];
      expect(stateIds(pasted), name).toEqual(stateIds(machine));
      expect(transitionSignatures(pasted), name).toEqual(transitionSignatures(machine));
    }
  });
});

function stateIds(machine: AnyStateMachine): string[] {
  const ids: string[] = [];
  const walk = (state: ChartState) => {
    ids.push(state.id);
    state.children.forEach(walk);
  };
  walk(chartOf(machine).root);
  return ids;
}

/** Source, event (delays by name, invoke results by src), guard name and target of every transition. */
function transitionSignatures(machine: AnyStateMachine): string[] {
  return chartOf(machine)
    .transitions.map((t) => `${t.source} ${t.event} [${t.guard ?? ''}] → ${t.target ?? '(none)'}`)
    .sort();
}
