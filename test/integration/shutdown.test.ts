/**
 * Graceful shutdown: in-flight runs finish within drainMs while new upgrades are refused,
 * every socket then closes with 1001, and a resume against a server sharing the same log
 * recovers every event — also those appended after the socket closed.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { TestClient } from './client.js';
import { deferred, eventsOf, startServer } from './harness.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import type { MessageHandler } from '../../src/agent/handler.js';
import type { ReadyFrame } from '../../src/protocol/frames.js';

const connect = (url: string, user: string) => new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`] });

function gatedHandler(gate: Promise<void>): MessageHandler {
  return async (message, run) => {
    run.thinking({});
    await gate;
    run.toolStarted('t');
    run.toolCompleted('t');
    run.complete({ text: `echo: ${message.text}` });
  };
}

describe('graceful shutdown', () => {
  it('lets an in-flight run finish, refuses new upgrades meanwhile, then closes 1001', async () => {
    const gate = deferred();
    const h = await startServer({ handler: gatedHandler(gate.promise) });
    const c = connect(h.url, 'kim');
    await c.untilType('ready');
    c.send({ type: 'message', id: 'm', text: 'drain me' });
    await c.until(() => eventsOf(c.frames).length === 2, 'started + thinking');

    const closing = h.server.close();
    const late = connect(h.url, 'kim');
    await expect(late.opened).rejects.toThrow('503');
    expect(await (await fetch(`${h.httpUrl}/health`)).json()).toMatchObject({ status: 'shutting_down' });

    gate.resolve();
    expect((await c.closed).code).toBe(1001);
    expect(eventsOf(c.frames).map((e) => e.event)).toEqual(['agent_started', 'agent_thinking', 'tool_executing', 'tool_completed', 'agent_completed']);
    await closing;
    expect(h.server.liveConnections).toBe(0);
  });

  it('after drainMs the socket closes 1001 mid-run; resuming on a server sharing the log recovers every event', async () => {
    const gate = deferred();
    const log = new MemoryEventLog();
    const a = await startServer({ handler: gatedHandler(gate.promise), eventLog: log, drainMs: 50 });
    const c = connect(a.url, 'lee');
    await c.untilType('ready');
    const { epoch } = c.frames[0] as ReadyFrame;
    c.send({ type: 'message', id: 'm', text: 'long' });
    await c.until(() => eventsOf(c.frames).length === 2, 'started + thinking');
    await a.server.close();
    expect((await c.closed).code).toBe(1001);
    gate.resolve(); // the run ends after the socket closed: its events are only in the log

    const b = await startServer({ eventLog: log });
    const resumed = connect(`${b.url}?epoch=${epoch}&lastSeq=2`, 'lee');
    await resumed.until(() => eventsOf(resumed.frames).length === 3, 'missed events');
    expect(resumed.frames[0]).toMatchObject({ resumed: true, lastSeq: 5 });
    expect(eventsOf(resumed.frames).map((e) => e.seq)).toEqual([3, 4, 5]);
    await resumed.close();
    await b.server.close();
  });

  it('lockstep serve exits 0 on SIGTERM after closing sockets with 1001', async () => {
    const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
    const child = spawn(process.execPath, [cli, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const url = /ws:\/\/\S+\/ws/.exec(line.toString())?.[0];
    expect(url).toBeDefined();
    const c = connect(url!, 'mia');
    await c.untilType('ready');
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect((await c.closed).code).toBe(1001);
    expect((await exited)[0]).toBe(0);
  });
});
