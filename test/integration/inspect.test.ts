/**
 * `--inspect`: connection actors stream to an `@statelyai/inspect` WebSocket inspector through
 * the loopback relay. A ws client on the relay plays the browser's bridge page.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { RelayRefusal, startInspectorRelay, type InspectorRelay } from '../../src/inspect/relay.js';
import { createConnectionInspector, type ConnectionInspector } from '../../src/inspect/inspector.js';
import { startServer, RUN_EVENTS, eventsOf, type Harness } from './harness.js';
import { TestClient } from './client.js';

interface InspectionMessage {
  type: string;
  sessionId: string;
  event?: { type: string; data?: unknown };
  snapshot?: { value?: unknown; context?: Record<string, unknown> };
}

/** The relay's other end: collects messages and lets a test await one that matches. */
/** A viewer's socket as the bridge page opens it: the secret from the page URL's fragment, the page's Origin. */
function viewerSocket(pageUrl: string, overrides: { secret?: string; origin?: string } = {}) {
  const page = new URL(pageUrl);
  const secret = overrides.secret ?? new URLSearchParams(page.hash.slice(1)).get('secret') ?? '';
  return new WebSocket(`ws://${page.host}/?viewer=${encodeURIComponent(secret)}`, { origin: overrides.origin ?? `http://${page.host}` });
}

function viewer(relay: Pick<InspectorRelay, 'pageUrl'>) {
  const ws = viewerSocket(relay.pageUrl);
  const messages: InspectionMessage[] = [];
  const waiters: Array<{ test: (m: InspectionMessage) => boolean; resolve: (m: InspectionMessage) => void }> = [];
  ws.on('message', (data) => {
    const message = JSON.parse(data.toString()) as InspectionMessage;
    messages.push(message);
    for (const w of [...waiters]) if (w.test(message)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(message);
    }
  });
  return {
    ws,
    messages,
    opened: new Promise<void>((resolve) => ws.once('open', () => resolve())),
    next: (test: (m: InspectionMessage) => boolean) =>
      new Promise<InspectionMessage>((resolve) => {
        const seen = messages.find(test);
        if (seen) resolve(seen);
        else waiters.push({ test, resolve });
      }),
  };
}

describe('live inspection (lockstep serve --inspect)', () => {
  let relay: InspectorRelay | undefined;
  let inspector: ConnectionInspector | undefined;
  let harness: Harness | undefined;
  let child: ChildProcess | undefined;

  afterEach(async () => {
    // A failed CLI test must not leave its server running.
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await harness?.server.close();
    inspector?.stop();
    await relay?.close();
  });

  it('relays every connection actor event and state to the viewer, with tokens redacted', async () => {
    relay = await startInspectorRelay();
    expect(relay.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/\?source=[\w-]{32}$/);
    expect(relay.pageUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#secret=[\w-]{32}$/);
    inspector = await createConnectionInspector(relay.wsUrl);
    // Tokens differ from user ids here, so a leaked token cannot hide behind a user id.
    harness = await startServer({
      inspect: inspector.inspect,
      verifyToken: async (token) => ({ userId: token === 'secret-a' ? 'alice' : 'carol' }),
    });
    const view = viewer(relay);
    await view.opened;

    const client = new TestClient(harness.url, {
      protocols: ['lockstep.v1', 'lockstep.bearer.secret-a'],
      onOpen: (ws) => ws.send(JSON.stringify({ type: 'message', id: 'm1', text: 'hi' })),
    });
    await client.until(() => eventsOf(client.frames).length === RUN_EVENTS.length, 'the run');
    await client.close();

    // The connection actor's states, in order, as the inspector saw them.
    await view.next((m) => m.type === '@xstate.snapshot' && m.snapshot?.value === 'closed');
    const top = (value: unknown) => (typeof value === 'string' ? value : Object.keys(value ?? {})[0]);
    const connectionSession = view.messages.find((m) => m.type === '@xstate.snapshot' && top(m.snapshot?.value) === 'handshaking')?.sessionId;
    expect(connectionSession).toBeDefined();
    const states = view.messages
      .filter((m) => m.type === '@xstate.snapshot' && m.sessionId === connectionSession)
      .map((m) => top(m.snapshot?.value));
    expect([...new Set(states)]).toEqual(['handshaking', 'joining', 'ready', 'closed']);
    // Socket events reach the inspector as actor events, the message frame among them.
    const received = view.messages.filter((m) => m.type === '@xstate.event' && m.sessionId === connectionSession).map((m) => m.event?.type);
    expect(received).toContain('socket.frame');
    expect(received.filter((t) => t === 'stream.event')).toHaveLength(RUN_EVENTS.length);
    // The handshake is the connection's own states, and its answers are the connection's events.
    expect(view.messages.some((m) => m.type === '@xstate.snapshot' && m.sessionId === connectionSession
      && JSON.stringify(m.snapshot?.value) === JSON.stringify({ handshaking: 'checkingBackend' }))).toBe(true);
    expect(received).toEqual(expect.arrayContaining(['auth.verified', 'backend.ready']));
    // A second connection authenticates with an auth frame (the token travels as frame data).
    const second = new TestClient(harness.url, { onOpen: (ws) => ws.send(JSON.stringify({ type: 'auth', token: 'secret-c' })) });
    await second.untilType('ready');
    await second.close();
    await view.next((m) => m.type === '@xstate.snapshot' && m.snapshot?.value === 'closed' && m.sessionId !== connectionSession);
    // No token leaves the process.
    const everything = JSON.stringify(view.messages);
    expect(everything).toContain('"userId":"carol"');
    expect(everything).not.toContain('secret-a');
    expect(everything).not.toContain('secret-c');
  });

  it('an auth frame spelling its key tok\\u0065n authenticates, and its JWT never reaches a viewer', async () => {
    relay = await startInspectorRelay();
    inspector = await createConnectionInspector(relay.wsUrl);
    const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJkYW4ifQ.c2lnbmF0dXJl';
    harness = await startServer({ inspect: inspector.inspect, verifyToken: async (token) => ({ userId: token === JWT ? 'dan' : 'nobody' }) });
    const view = viewer(relay);
    await view.opened;
    const client = new TestClient(harness.url, { onOpen: (ws) => ws.send(`{"type":"auth","tok\\u0065n":"${JWT}"}`) });
    await client.untilType('ready');
    expect(client.frames[0]).toMatchObject({ type: 'ready', userId: 'dan' });
    await client.close();
    await view.next((m) => m.type === '@xstate.snapshot' && m.snapshot?.value === 'closed');
    const everything = JSON.stringify(view.messages);
    expect(everything).toContain('"userId":"dan"');
    expect(everything).toContain('socket.frame');
    expect(everything).not.toContain(JWT);
    expect(everything).not.toContain('c2lnbmF0dXJl');
  });

  it('replays its backlog to a viewer that opens later, and serves the bridge page', async () => {
    relay = await startInspectorRelay({ backlog: 5 });
    const sender = new WebSocket(relay.wsUrl);
    await new Promise((resolve) => sender.once('open', resolve));
    for (let i = 0; i < 8; i += 1) sender.send(JSON.stringify({ type: 'test', sessionId: String(i) }));
    // A round trip through a first viewer proves the relay processed all eight.
    const first = viewer(relay);
    await first.next((m) => m.sessionId === '7');
    const late = viewer(relay);
    await late.next((m) => m.sessionId === '7');
    expect(late.messages.map((m) => m.sessionId)).toEqual(['3', '4', '5', '6', '7']);
    sender.close();

    const page = await fetch(relay.pageUrl);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('src="https://stately.ai/inspect"');
    expect(html).toContain('@statelyai.connected');
  });

  it('refuses a foreign Origin, a missing or wrong secret, another Host, and drops what a viewer sends', async () => {
    relay = await startInspectorRelay();
    const refusal = (ws: WebSocket) =>
      new Promise<{ status: number; body: string }>((resolve) => {
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('error', () => {});
      });
    const port = new URL(relay.pageUrl).port;
    expect(await refusal(viewerSocket(relay.pageUrl, { origin: 'https://evil.example' }))).toEqual({ status: 403, body: RelayRefusal.ORIGIN });
    expect(await refusal(viewerSocket(relay.pageUrl, { secret: '' }))).toEqual({ status: 403, body: RelayRefusal.SECRET });
    expect(await refusal(viewerSocket(relay.pageUrl, { secret: 'guess' }))).toEqual({ status: 403, body: RelayRefusal.SECRET });
    expect(await refusal(new WebSocket(`ws://127.0.0.1:${port}/`))).toEqual({ status: 403, body: RelayRefusal.SECRET });
    // The source secret from a browser (it sends an Origin) is refused too.
    expect(await refusal(new WebSocket(relay.wsUrl, { origin: `http://127.0.0.1:${port}` }))).toEqual({ status: 403, body: RelayRefusal.ORIGIN });
    // DNS rebinding: the right secret and Origin under another host name.
    const secret = new URLSearchParams(new URL(relay.pageUrl).hash.slice(1)).get('secret')!;
    const rebound = new WebSocket(`ws://127.0.0.1:${port}/?viewer=${secret}`, { origin: 'http://rebind.example:80', headers: { host: 'rebind.example:80' } });
    expect(await refusal(rebound)).toEqual({ status: 403, body: RelayRefusal.HOST });
    await expect(startInspectorRelay({ host: '0.0.0.0' })).rejects.toMatchObject({ code: 'LOCKSTEP_ERR_INVALID_OPTION' });
    // A viewer cannot inject: what it sends reaches no one.
    const a = viewer(relay);
    const b = viewer(relay);
    await Promise.all([a.opened, b.opened]);
    a.ws.send(JSON.stringify({ type: '@xstate.event', sessionId: 'injected' }));
    const source = new WebSocket(relay.wsUrl);
    await new Promise((resolve) => source.once('open', resolve));
    source.send(JSON.stringify({ type: 'test', sessionId: 'from-source' }));
    await b.next((m) => m.sessionId === 'from-source');
    expect(b.messages.map((m) => m.sessionId)).toEqual(['from-source']);
    source.close();
  });

  it('lockstep serve --inspect prints the relay page and streams its connections there', async () => {
    const cli = fileURLToPath(new URL('../../dist/src/cli/main.js', import.meta.url));
    child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--inspect'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const printed = new Promise<void>((resolve) =>
      child!.stdout!.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('lockstep inspector: open')) resolve();
      }),
    );
    await printed;
    const wsUrl = /ws:\/\/\S+\/ws/.exec(output)?.[0];
    const page = /lockstep inspector: open (http:\/\/127\.0\.0\.1:\d+\/#secret=\S+)/.exec(output)?.[1];
    expect(wsUrl).toBeDefined();
    expect(page).toBeDefined();
    const view = viewer({ pageUrl: page! });
    await view.opened;
    const client = new TestClient(wsUrl!, { protocols: ['lockstep.v1', 'lockstep.bearer.nia'] });
    await client.untilType('ready');
    await view.next((m) => m.type === '@xstate.snapshot' && typeof m.snapshot?.value === 'object' && 'ready' in (m.snapshot.value as object));
    view.ws.close();
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    expect((await client.closed).code).toBe(1001);
    expect((await exited)[0]).toBe(0);
  });
});

describe('lockstep serve --inspect without @statelyai/inspect', () => {
  it('prints how to install it and exits with code 2 (it used to stay running)', async () => {
    // A real install without the optional package: dist/ and public/ copied into a temp package
    // whose node_modules links every dependency but @statelyai.
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const pkg = mkdtempSync(join(tmpdir(), 'lockstep-no-inspect-'));
    cpSync(join(root, 'dist'), join(pkg, 'dist'), { recursive: true });
    cpSync(join(root, 'public'), join(pkg, 'public'), { recursive: true });
    cpSync(join(root, 'package.json'), join(pkg, 'package.json'));
    mkdirSync(join(pkg, 'node_modules'));
    const modules = realpathSync(join(root, 'node_modules'));
    for (const name of readdirSync(modules)) {
      if (name !== '@statelyai') symlinkSync(join(modules, name), join(pkg, 'node_modules', name));
    }
    const child = spawn(process.execPath, [join(pkg, 'dist/src/cli/main.js'), 'serve', '--port', '0', '--inspect'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = once(child, 'exit');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const [code, signal] = (await exited) as [number | null, string | null];
    clearTimeout(timer);
    expect(stderr).toContain('LOCKSTEP_ERR_MISSING_PEER: lockstep serve --inspect needs @statelyai/inspect, an optional peer dependency of lockstep that is not installed: npm install --save-dev @statelyai/inspect@^0.7.2');
    expect(signal).toBeNull(); // not killed by the 15 s bound: it exited by itself
    expect(code).toBe(2);
  });
});
