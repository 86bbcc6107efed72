/** Connection cap per user, Origin allowlist and the message rate limit, on real sockets. */
import { afterEach, describe, expect, it } from 'vitest';
import { TestClient } from './client.js';
import { eventsOf, startServer, type Harness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.server.close();
  expect(h?.server.liveConnections ?? 0).toBe(0);
  h = undefined;
});

const connect = (url: string, user: string, headers: Record<string, string> = {}) =>
  new TestClient(url, { protocols: ['lockstep.v1', `lockstep.bearer.${user}`], headers });

describe('limits', () => {
  it('the connection after maxConnectionsPerUser is closed 1008; other users are unaffected', async () => {
    h = await startServer({ maxConnectionsPerUser: 2 });
    const tabs = [connect(h.url, 'gina'), connect(h.url, 'gina')];
    await Promise.all(tabs.map((t) => t.untilType('ready')));
    const third = connect(h.url, 'gina');
    expect(await third.closed).toEqual({ code: 1008, reason: 'too many connections' });
    expect(third.frames).toEqual([]);
    const other = connect(h.url, 'hank');
    await other.untilType('ready');
    await tabs[0]!.close();
    const again = connect(h.url, 'gina'); // a slot is free again
    await again.untilType('ready');
    await Promise.all([tabs[1]!.close(), other.close(), again.close()]);
  });

  it('an Origin outside allowedOrigins is refused with 403; an allowed one and none pass', async () => {
    h = await startServer({ allowedOrigins: ['https://chat.example'] });
    const evil = connect(h.url, 'ivy', { origin: 'https://evil.example' });
    await expect(evil.opened).rejects.toThrow('403');
    const good = connect(h.url, 'ivy', { origin: 'https://chat.example' });
    const cli = connect(h.url, 'ivy');
    await Promise.all([good.untilType('ready'), cli.untilType('ready')]);
    await Promise.all([good.close(), cli.close()]);
  });

  it('a burst over messageBurst is refused with LOCKSTEP_E_RATE_LIMITED while the accepted ones run', async () => {
    h = await startServer({ limits: { messageBurst: 3, messageRate: 1 } });
    const c = connect(h.url, 'jack');
    await c.untilType('ready');
    for (let i = 0; i < 5; i++) c.send({ type: 'message', id: `m${i}`, text: 'x' });
    await c.until(() => eventsOf(c.frames).length === 15, 'three runs');
    const errors = c.frames.filter((f) => f.type === 'error');
    expect(errors.map((e) => (e.type === 'error' ? e.ref : ''))).toEqual(['m3', 'm4']);
    expect(errors.every((e) => e.type === 'error' && e.code === 'LOCKSTEP_E_RATE_LIMITED')).toBe(true);
    expect(c.frames.filter((f) => f.type === 'ack')).toHaveLength(3);
    await c.close();
  });
});
