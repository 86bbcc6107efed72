/**
 * A token's `exp` holds for the whole connection (4401 `token expired`), an `auth` frame after
 * ready refreshes it for the same subject, and subjects are bounded. Real sockets on loopback;
 * the server's named delays run on a SimulatedClock, so expiry is reached deterministically.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { SimulatedClock } from 'xstate';
import { startServer, eventsOf, type Harness } from './harness.js';
import { TestClient } from './client.js';

const SECRET = 'token-lifetime-test-secret';
const key = new TextEncoder().encode(SECRET);
const nowSec = () => Math.floor(Date.now() / 1000);

function token(sub: string, expSec: number): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime(expSec).sign(key);
}

let harness: Harness | undefined;
afterEach(async () => {
  await harness?.server.close();
  harness = undefined;
});

async function connect(h: Harness, jwt: string): Promise<TestClient> {
  const client = new TestClient(h.url, { headers: { authorization: `Bearer ${jwt}` } });
  await client.untilType('ready');
  return client;
}

describe('token lifetime on a live connection', () => {
  it('a token that expires during the connection closes it 4401 "token expired"; nothing runs after', async () => {
    const clock = new SimulatedClock();
    harness = await startServer({ jwt: { secret: SECRET }, clock });
    // exp 3 s ahead of the wall clock: the connection must close within 3 s of (simulated) time.
    const client = await connect(harness, await token('alice', nowSec() + 3));
    clock.increment(1_000);
    client.send({ type: 'message', id: 'before', text: 'hi' });
    await client.until(() => eventsOf(client.frames).length === 5, 'a run before expiry');
    clock.increment(2_000);
    const closed = await client.closed;
    expect(closed).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('a refresh before expiry keeps the connection open past the original exp', async () => {
    const clock = new SimulatedClock();
    harness = await startServer({ jwt: { secret: SECRET }, clock });
    const client = await connect(harness, await token('alice', nowSec() + 3));
    const laterExp = nowSec() + 3_600;
    client.send({ type: 'auth', token: await token('alice', laterExp) });
    await client.untilType('auth_ok');
    expect(client.frames.find((f) => f.type === 'auth_ok')).toEqual({ type: 'auth_ok', userId: 'alice', expiresAt: laterExp * 1000 });
    clock.increment(10_000); // well past the first exp
    client.send({ type: 'message', id: 'after', text: 'still here' });
    await client.until(() => eventsOf(client.frames).length === 5, 'a run after the original exp');
    expect(harness.server.liveConnections).toBe(1);
    await client.close();
  });

  it('a refresh for another subject is refused (LOCKSTEP_E_SUBJECT_MISMATCH); the old identity and expiry stay', async () => {
    const clock = new SimulatedClock();
    harness = await startServer({ jwt: { secret: SECRET }, clock });
    const client = await connect(harness, await token('alice', nowSec() + 3));
    client.send({ type: 'auth', token: await token('mallory', nowSec() + 3_600) });
    // A frame sent while the refresh is verified is answered at once, not held behind it.
    client.send({ type: 'ping', id: 'during' });
    await client.untilType('error');
    expect(client.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'LOCKSTEP_E_SUBJECT_MISMATCH' });
    expect(client.frames.some((f) => f.type === 'pong')).toBe(true);
    clock.increment(3_000);
    expect(await client.closed).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('an invalid refresh token gets LOCKSTEP_E_INVALID_TOKEN and the old expiry still applies', async () => {
    const clock = new SimulatedClock();
    harness = await startServer({ jwt: { secret: SECRET }, clock });
    const client = await connect(harness, await token('alice', nowSec() + 3));
    client.send({ type: 'auth', token: 'not-a-jwt' });
    await client.untilType('error');
    expect(client.frames.find((f) => f.type === 'error')).toMatchObject({ code: 'LOCKSTEP_E_INVALID_TOKEN' });
    clock.increment(3_000);
    expect(await client.closed).toEqual({ code: 4401, reason: 'token expired' });
  });

  it('a subject over 256 characters or with a newline is refused 4401 "invalid subject"', async () => {
    harness = await startServer({ jwt: { secret: SECRET } });
    for (const sub of ['a'.repeat(5_000), 'alice\nadmin']) {
      const client = new TestClient(harness.url, { headers: { authorization: `Bearer ${await token(sub, nowSec() + 60)}` } });
      expect(await client.closed).toEqual({ code: 4401, reason: 'invalid subject' });
      expect(client.frames).toEqual([]);
    }
    const ok = await connect(harness, await token('a'.repeat(256), nowSec() + 60));
    await ok.close();
  });

  it('a custom verifyToken may return expiresAt; it is enforced the same way', async () => {
    const clock = new SimulatedClock();
    harness = await startServer({ verifyToken: async (t) => ({ userId: t, expiresAt: Date.now() + 2_000 }), clock });
    const client = await connect(harness, 'bob');
    clock.increment(2_001);
    expect(await client.closed).toEqual({ code: 4401, reason: 'token expired' });
  });
});
