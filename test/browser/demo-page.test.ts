/**
 * The demo page (public/, on the browser bundle of `lockstep/client`) in real Chromium against
 * real servers on a loopback port: a streamed run shown once, in order; a socket cut mid-run
 * and a reload mid-run, each showing the whole run once; a message typed while the server is
 * down run exactly once after it returns; a restart over a new in-memory log marking the open
 * run interrupted, with new runs working; Stop mid-stream; and the current state legible at
 * phone width. Screenshots land under test-artifacts/.
 */
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import type { Page } from 'playwright-core';
import { createLockstepServer, type LockstepServer } from '../../src/server/create-server.js';
import { MemoryEventLog } from '../../src/delivery/event-log.js';
import type { MessageHandler } from '../../src/agent/handler.js';
import { streamingDemoAgent } from '../../src/agent/streaming-demo-agent.js';
import { buildClientBundle } from '../../scripts/build-client-bundle.mjs';
import { deferred } from '../support/deferred.js';
import { within } from '../support/within.js';
import { artifactPath, describeWithChromium, launchBrowser } from './chromium.js';

/** The bound of every wait on the page (each names what it waits for); expect.poll's default is 1 s. */
const WAIT_MS = 10_000;

/** The words after the first delta; the reply is `echo: <text>` + these. */
const REST = [' — and', ' the', ' rest.'];
const reply = (text: string) => `echo: ${text}${REST.join('')}`;

/**
 * Messages starting with "stream" get the streaming demo agent with a long answer (Stop lands
 * mid-answer); others: thinking, a first delta, the gate the test holds (or the run's abort),
 * then the rest of the reply as deltas. `calls` counts the handler's runs per text.
 */
function testAgent(gates: Map<string, Promise<void>>, calls: string[]): MessageHandler {
  const streaming = streamingDemoAgent({ deltaMs: 25, answer: () => 'word '.repeat(1_000) });
  return async (message, run, context) => {
    calls.push(message.text);
    if (message.text.startsWith('stream')) return streaming(message, run, context);
    run.thinking({ text: 'Reading the message.' });
    run.text(`echo: ${message.text}`);
    const aborted = new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve(), { once: true }));
    await Promise.race([gates.get(message.text) ?? Promise.resolve(), aborted]);
    if (context.signal.aborted) return;
    for (const word of REST) run.text(word);
  };
}

interface Served { server: LockstepServer; port: number; sockets: Socket[]; url: string }

async function serve(port: number, eventLog: MemoryEventLog, handler: MessageHandler): Promise<Served> {
  const server = createLockstepServer({ port, host: '127.0.0.1', auth: 'dev', demoPage: true, eventLog, handler, drainMs: 200, closeGraceMs: 200 });
  const sockets: Socket[] = [];
  server.httpServer.prependListener('upgrade', (_req, socket: Socket) => sockets.push(socket));
  const address = await server.listen();
  return { server, port: address.port, sockets, url: `http://127.0.0.1:${address.port}` };
}

/** The page's globals, for functions that run inside it (this file is type-checked without the DOM lib). */
declare const document: { documentElement: { scrollWidth: number } };
declare const window: { scrollTo(x: number, y: number): void };
declare function getComputedStyle(node: unknown): { fontSize: string };

const text = (page: Page, selector: string) => page.locator(selector).first().textContent();
const runOf = (page: Page, prompt: string) => page.locator('.run[data-run-id]', { hasText: `You: ${prompt}` });

async function send(page: Page, message: string): Promise<void> {
  await page.getByLabel('Message').fill(message);
  await page.getByRole('button', { name: 'Send' }).click();
}

/** The seq ranges of a run's timeline (a text-delta entry covers fromSeq…seq). */
async function coverage(page: Page, prompt: string): Promise<Array<{ event: string; from: number; to: number }>> {
  return runOf(page, prompt).locator('.timeline li').evaluateAll((items: Array<{ getAttribute(name: string): string | null }>) =>
    items.map((li) => ({ event: String(li.getAttribute('data-event')), from: Number(li.getAttribute('data-from-seq')), to: Number(li.getAttribute('data-seq')) })),
  );
}

/** Every seq of the run exactly once, consecutive: no entry repeats or skips one. */
function expectConsecutive(ranges: Array<{ from: number; to: number }>): void {
  for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.from, `entry ${i} starts right after entry ${i - 1}`).toBe(ranges[i - 1]!.to + 1);
}

describeWithChromium('demo page on lockstep/client (Chromium)', () => {
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  const servers: LockstepServer[] = [];
  const closing: Promise<void>[] = [];
  const gates = new Map<string, Promise<void>>();
  const calls: string[] = [];
  /** Console errors and uncaught exceptions (a CSP violation is one) fail the test. */
  let problems: string[] = [];

  beforeAll(async () => {
    // The page must run the client of these sources, not of an older build.
    const bundle = await buildClientBundle();
    expect(bundle.bytes).toBeGreaterThan(10_000);
    browser = await launchBrowser();
  });

  afterEach(async () => {
    for (const page of browser?.context.pages() ?? []) await page.close();
    await Promise.all([...servers.splice(0).map((s) => s.close()), ...closing.splice(0)]);
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function start(port = 0, log = new MemoryEventLog()): Promise<Served> {
    const served = await serve(port, log, testAgent(gates, calls));
    servers.push(served.server);
    return served;
  }

  async function openPage(url: string, user: string, viewport?: { width: number; height: number }): Promise<Page> {
    problems = [];
    const page = await browser.context.newPage();
    if (viewport) await page.setViewportSize(viewport);
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    await page.goto(`${url}/?user=${user}&backoffMs=50&backoffMaxMs=200`);
    await expect.poll(() => page.locator('#state').getAttribute('data-state'), { message: 'the page to be ready', timeout: WAIT_MS }).toBe('ready');
    return page;
  }

  /** A dropped connection or a server away is logged by Chromium ("WebSocket connection … failed"); nothing else may be. */
  const otherProblems = () => problems.filter((p) => !/WebSocket connection to .* failed|ERR_CONNECTION_REFUSED/.test(p));

  it('streams a run: the reply assembled from its deltas, every event once and in order; the state strip and chart show ready', async () => {
    const { url } = await start();
    const page = await openPage(url, 'alice');
    expect(await page.locator('#state-strip [aria-current]').textContent()).toBe('ready');
    expect(await page.locator('#chart [data-state="client.active.online.ready"].active').count()).toBe(1);
    expect(await text(page, '#resume')).toContain('new session');

    await send(page, 'hello lockstep');
    const run = runOf(page, 'hello lockstep');
    await expect.poll(() => run.getAttribute('data-status'), { message: 'the run to complete', timeout: WAIT_MS }).toBe('completed');
    expect(await run.locator('.reply').textContent()).toBe(reply('hello lockstep'));
    const ranges = await coverage(page, 'hello lockstep');
    expect(ranges.map((r) => r.event)).toEqual(['agent_started', 'agent_thinking', 'text_delta', 'agent_completed']);
    expect(ranges[0]!.from).toBe(1);
    expectConsecutive(ranges);
    expect(await text(page, '#stream')).toContain('each once, in order');
    expect(await run.locator('.stop').isHidden()).toBe(true);

    // The chart at its own scale: the ready node inside the chart's window, its labels ≥ 11 px.
    const chart = (await page.locator('#chart').boundingBox())!;
    const node = (await page.locator('#chart [data-state="client.active.online.ready"] > rect').boundingBox())!;
    expect(node.x).toBeGreaterThanOrEqual(chart.x);
    expect(node.x + node.width).toBeLessThanOrEqual(chart.x + chart.width + 1);
    const label = (await page.locator('#chart [data-state="client.active.online.ready"] > text').first().boundingBox())!;
    expect(label.height).toBeGreaterThanOrEqual(11);

    await page.screenshot({ path: artifactPath('demo-page.png'), fullPage: true });
    expect(otherProblems()).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('resumes after the server cuts the socket mid-run: the whole run once, in order', async () => {
    const served = await start();
    const page = await openPage(served.url, 'bob');
    const gate = deferred();
    gates.set('cut me', gate.promise);
    await send(page, 'cut me');
    const run = runOf(page, 'cut me');
    await expect.poll(() => run.locator('.reply').textContent(), { message: 'the first delta', timeout: WAIT_MS }).toBe('echo: cut me');
    const socketsBefore = served.sockets.length;

    // Killed from the server side mid-run (the browser sees 1006); the rest happens while the page is away.
    for (const socket of served.sockets) socket.destroy();
    gate.resolve();

    await expect.poll(() => served.sockets.length, { message: 'the page to reconnect', timeout: WAIT_MS }).toBeGreaterThan(socketsBefore);
    await expect.poll(() => run.getAttribute('data-status'), { message: 'the run to complete after the resume', timeout: WAIT_MS }).toBe('completed');
    await expect.poll(() => text(page, '#resume'), { message: 'the resume report', timeout: WAIT_MS }).toMatch(/^complete: every event after #\d+ replayed$/);
    expect(await run.locator('.reply').textContent()).toBe(reply('cut me'));
    expectConsecutive(await coverage(page, 'cut me'));
    expect(calls.filter((c) => c === 'cut me')).toHaveLength(1);
    await page.screenshot({ path: artifactPath('demo-page-resumed.png'), fullPage: true });
    expect(otherProblems()).toEqual([]);
  });

  it('a reload mid-run shows the whole run once (runs and resume point from localStorage)', async () => {
    const { url } = await start();
    const page = await openPage(url, 'carol');
    const gate = deferred();
    gates.set('reload me', gate.promise);
    await send(page, 'reload me');
    await expect.poll(() => runOf(page, 'reload me').locator('.reply').textContent(), { message: 'the first delta', timeout: WAIT_MS }).toBe('echo: reload me');

    await page.reload();
    // Shown from storage before the socket is back: the run, still running, with its text so far.
    await expect.poll(() => runOf(page, 'reload me').locator('.reply').textContent(), { message: 'the stored run after the reload', timeout: WAIT_MS }).toBe('echo: reload me');
    await expect.poll(() => page.locator('#state').getAttribute('data-state'), { message: 'ready after the reload', timeout: WAIT_MS }).toBe('ready');
    expect(await text(page, '#resume')).toMatch(/^complete: every event after #\d+ replayed$/);
    gate.resolve();

    const run = runOf(page, 'reload me');
    await expect.poll(() => run.getAttribute('data-status'), { message: 'the run to complete after the reload', timeout: WAIT_MS }).toBe('completed');
    expect(await run.locator('.reply').textContent()).toBe(reply('reload me'));
    expect(await runOf(page, 'reload me').count()).toBe(1);
    const ranges = await coverage(page, 'reload me');
    expect(ranges.map((r) => r.event)).toEqual(['agent_started', 'agent_thinking', 'text_delta', 'agent_completed']);
    expectConsecutive(ranges);
    expect(calls.filter((c) => c === 'reload me')).toHaveLength(1);
    expect(otherProblems()).toEqual([]);
  });

  it('a message typed while the server is down runs exactly once after it returns', async () => {
    const log = new MemoryEventLog();
    const first = await start(0, log);
    const page = await openPage(first.url, 'dana');
    await first.server.close();
    servers.splice(0);
    await expect.poll(() => page.locator('#state').getAttribute('data-state'), { message: 'the page to notice the server is gone', timeout: WAIT_MS }).not.toBe('ready');

    await send(page, 'typed offline');
    await expect.poll(() => page.locator('.run.pending').textContent(), { message: 'the message held as pending', timeout: WAIT_MS }).toBe('You: typed offline (sending…)');
    expect(await text(page, '#outbox')).toMatch(/^1 waiting for an ack/);

    await start(first.port, log);
    const run = runOf(page, 'typed offline');
    await expect.poll(() => run.getAttribute('data-status'), { message: 'the offline message to run', timeout: WAIT_MS }).toBe('completed');
    expect(await run.locator('.reply').textContent()).toBe(reply('typed offline'));
    expect(await page.locator('.run.pending').count()).toBe(0);
    expect(await text(page, '#outbox')).toBe('empty');
    expect(await runOf(page, 'typed offline').count()).toBe(1);
    expect(calls.filter((c) => c === 'typed offline')).toHaveLength(1);
    expect(otherProblems()).toEqual([]);
  });

  it('a restart with a new in-memory log: the open run is marked interrupted, and new runs work', async () => {
    const first = await start();
    const page = await openPage(first.url, 'erin');
    gates.set('left open', new Promise(() => {}));
    await send(page, 'left open');
    const open = runOf(page, 'left open');
    await expect.poll(() => open.locator('.reply').textContent(), { message: 'the first delta', timeout: WAIT_MS }).toBe('echo: left open');

    // A crash: every socket cut, the in-memory log gone with the process.
    for (const socket of first.sockets) socket.destroy();
    first.server.httpServer.close();
    servers.splice(0);
    closing.push(first.server.close());
    await start(first.port, new MemoryEventLog());

    await expect.poll(() => open.getAttribute('data-status'), { message: 'the open run to be marked interrupted', timeout: WAIT_MS }).toBe('interrupted');
    expect(await open.locator('.note').textContent()).toMatch(/^interrupted: its end may be in what was missed/);
    expect(await open.locator('.stop').isHidden()).toBe(true);
    expect(await text(page, '#resume')).toMatch(/^incomplete \(epoch\): events after #\d+ may be missing; 1 open run marked interrupted/);
    expect(await page.locator('#resume').getAttribute('class')).toBe('warn');
    // No green "whole stream" claim next to the red resume report.
    expect(await page.locator('#stream').getAttribute('class')).not.toBe('ok');

    await send(page, 'after the restart');
    const next = runOf(page, 'after the restart');
    await expect.poll(() => next.getAttribute('data-status'), { message: 'a new run after the restart', timeout: WAIT_MS }).toBe('completed');
    expect(await next.locator('.reply').textContent()).toBe(reply('after the restart'));
    expect(await open.getAttribute('data-status')).toBe('interrupted');
    await page.screenshot({ path: artifactPath('demo-page-interrupted.png'), fullPage: true });
    expect(otherProblems()).toEqual([]);
  });

  it('Stop mid-stream: the run ends cancelled and no more text arrives', async () => {
    const { url } = await start();
    const page = await openPage(url, 'finn');
    await send(page, 'stream a long answer');
    const run = runOf(page, 'stream a long answer');
    await expect.poll(async () => ((await run.locator('.reply').textContent()) ?? '').split(' ').length, { message: 'a few streamed words', timeout: WAIT_MS }).toBeGreaterThan(4);

    await run.getByRole('button', { name: /^Stop run/ }).click();
    await expect.poll(() => run.getAttribute('data-status'), { message: 'the run to end cancelled', timeout: WAIT_MS }).toBe('cancelled');
    const stoppedAt = await run.locator('.reply').textContent();
    expect(await run.locator('.stop').isHidden()).toBe(true);
    expect((await coverage(page, 'stream a long answer')).at(-1)).toMatchObject({ event: 'agent_error' });

    // A later run's whole stream comes after anything the stopped run could still have sent.
    await send(page, 'after stop');
    await expect.poll(() => runOf(page, 'after stop').getAttribute('data-status'), { message: 'the next run', timeout: WAIT_MS }).toBe('completed');
    expect(await run.locator('.reply').textContent()).toBe(stoppedAt);
    expect((stoppedAt ?? '').split(' ').length).toBeLessThan(1_000);
    expect(await run.locator('.note').textContent()).toMatch(/^stopped/);
    await page.screenshot({ path: artifactPath('demo-page-stopped.png'), fullPage: true });
    expect(otherProblems()).toEqual([]);
  });

  it('at phone width (390 px) the current state is on screen and legible, scrolled or not', async () => {
    const { url } = await start();
    const page = await openPage(url, 'gus', { width: 390, height: 844 });
    for (const message of ['one', 'two', 'three']) {
      await send(page, message);
      await expect.poll(() => runOf(page, message).getAttribute('data-status'), { message: `the run of ${message}`, timeout: WAIT_MS }).toBe('completed');
    }
    expect(await page.evaluate(() => document.documentElement.scrollWidth), 'no horizontal scrolling').toBeLessThanOrEqual(390);

    const legible = async (selector: string) => {
      const box = (await page.locator(selector).boundingBox())!;
      const fontSize = await page.locator(selector).evaluate((node) => parseFloat(getComputedStyle(node).fontSize));
      expect(box.x, `${selector} left edge`).toBeGreaterThanOrEqual(0);
      expect(box.y, `${selector} top edge`).toBeGreaterThanOrEqual(0);
      expect(box.x + box.width, `${selector} right edge`).toBeLessThanOrEqual(390);
      expect(box.y + box.height, `${selector} bottom edge`).toBeLessThanOrEqual(844);
      expect(fontSize, `${selector} font size`).toBeGreaterThanOrEqual(12);
    };
    // Scrolled to the bottom (the chart), the state is still on screen: the status bar is sticky.
    await page.locator('#chart').scrollIntoViewIfNeeded();
    await legible('#state');
    await legible('#state-strip [aria-current]');
    expect(await page.locator('#state').textContent()).toMatch(/^ready — user gus$/);
    // The chart's current node (its title) inside the chart's window, at the chart's own scale.
    const chart = (await page.locator('#chart').boundingBox())!;
    const title = (await page.locator('#chart [data-state="client.active.online.ready"] > text.title').boundingBox())!;
    expect(title.x).toBeGreaterThanOrEqual(chart.x);
    expect(title.x + title.width).toBeLessThanOrEqual(chart.x + chart.width);
    expect(title.y).toBeGreaterThanOrEqual(chart.y);
    expect(title.y + title.height).toBeLessThanOrEqual(chart.y + chart.height);
    expect(title.height, 'the chart label height').toBeGreaterThanOrEqual(11);
    await page.screenshot({ path: artifactPath('demo-page-phone-scrolled.png') });

    await page.evaluate(() => window.scrollTo(0, 0));
    await legible('#state');
    await page.screenshot({ path: artifactPath('demo-page-phone.png') });
    await page.screenshot({ path: artifactPath('demo-page-phone-full.png'), fullPage: true });
    expect(otherProblems()).toEqual([]);
  });

  it('renders the generated client and connection SVGs', async () => {
    const { url } = await start();
    const page = await browser.context.newPage();
    for (const [path, states] of [['/client.svg', 14], ['/connection.svg', 24]] as const) { // the handshake's four states included
      const response = await page.goto(`${url}${path}`);
      expect(response?.headers()['content-type']).toBe('image/svg+xml');
      // One node per state of the machine, as the chart draws them.
      expect(await page.locator('svg [data-state]').count(), path).toBe(states);
    }
    const box = await page.locator('svg').boundingBox();
    expect(box?.width).toBeGreaterThan(500);
    // A full-page capture of a bare SVG document stalls in headless Chromium: size the viewport instead.
    await page.setViewportSize({ width: Math.ceil(box!.width), height: Math.ceil(box!.height) });
    await within(page.screenshot({ path: artifactPath('connection-svg.png') }), 10_000, 'the SVG screenshot');
  });
});
