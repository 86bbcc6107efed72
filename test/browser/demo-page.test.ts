/**
 * The demo page in real Chromium against a real server on a loopback port: a message's five
 * events in order and the reply; a socket killed by the server mid-run and the page resuming
 * with no missing or duplicated event; screenshots under test-artifacts/.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Socket } from 'node:net';
import type { Page } from 'playwright-core';
import { startServer, deferred, RUN_EVENTS, type Harness } from '../integration/harness.js';
import type { MessageHandler } from '../../src/agent/handler.js';
import { artifactPath, describeWithChromium, launchBrowser } from './chromium.js';

/** The demo agent's five events, with a gate after `agent_thinking` the test opens by hand. */
function gatedAgent(gates: Map<string, Promise<void>>): MessageHandler {
  return async (message, run) => {
    run.thinking({ text: 'Reading the message.' });
    await (gates.get(message.text) ?? Promise.resolve());
    const toolCallId = `${run.runId}.echo`;
    run.toolStarted(toolCallId, { tool: 'echo', input: { text: message.text } });
    run.toolCompleted(toolCallId, { tool: 'echo', output: { text: message.text } });
    run.complete({ text: `echo: ${message.text}` });
  };
}

async function timeline(page: Page, text: string): Promise<Array<{ seq: number; event: string }>> {
  const run = page.locator('.run', { hasText: `You: ${text}` });
  return run.locator('.timeline li').evaluateAll((items: Array<{ getAttribute(name: string): string | null }>) =>
    items.map((li) => ({ seq: Number(li.getAttribute('data-seq')), event: String(li.getAttribute('data-event')) })),
  );
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message').fill(text);
  await page.getByRole('button', { name: 'Send' }).click();
}

describeWithChromium('demo page (Chromium)', () => {
  let harness: Harness;
  let browser: Awaited<ReturnType<typeof launchBrowser>>;
  const gates = new Map<string, Promise<void>>();
  /** Server-side TCP sockets of upgraded connections, so a test can cut one. */
  const upgradeSockets: Socket[] = [];

  beforeAll(async () => {
    harness = await startServer({ demoPage: true, handler: gatedAgent(gates) });
    harness.server.httpServer.prependListener('upgrade', (_req, socket: Socket) => upgradeSockets.push(socket));
    browser = await launchBrowser();
  });

  afterAll(async () => {
    await browser?.close();
    await harness?.server.close();
  });

  /** Console errors and uncaught exceptions (a CSP violation is one) fail the test. */
  const problems: string[] = [];
  async function openPage(): Promise<Page> {
    const page = await browser.context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    return page;
  }

  it('sends a message and shows the five events in order and the reply', async () => {
    const page = await openPage();
    await page.goto(`${harness.httpUrl}/?user=alice`);
    await expect.poll(() => page.locator('#state').textContent()).toContain('ready');
    await expect.poll(() => page.locator('#chart [data-state="connection.ready"].active').count()).toBe(1);
    await expect.poll(() => page.locator('#resume').textContent()).toContain('new session');

    await send(page, 'hello lockstep');
    const run = page.locator('.run', { hasText: 'You: hello lockstep' });
    await expect.poll(() => run.locator('.reply').textContent()).toBe('echo: hello lockstep');
    const events = await timeline(page, 'hello lockstep');
    expect(events.map((e) => e.event)).toEqual(RUN_EVENTS);
    expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(await page.locator('#stream').textContent()).toContain('in order, no gap');

    await page.screenshot({ path: artifactPath('demo-page.png'), fullPage: true });
    await page.close();
    expect(problems).toEqual([]);
  });

  it('resumes after the server cuts the socket mid-run: no missing, no duplicated event', async () => {
    const page = await openPage();
    await page.goto(`${harness.httpUrl}/?user=bob&backoffMs=50`);
    await expect.poll(() => page.locator('#state').textContent()).toContain('ready');

    const gate = deferred();
    gates.set('cut me', gate.promise);
    const socketsBefore = upgradeSockets.length;
    await send(page, 'cut me');
    const run = page.locator('.run', { hasText: 'You: cut me' });
    await expect.poll(() => run.locator('[data-event="agent_thinking"]').count()).toBe(1);
    const seqBeforeCut = Number(await run.locator('[data-event="agent_thinking"]').getAttribute('data-seq'));

    // Kill the connection from the server side, mid-run: the browser sees 1006, no close frame.
    for (const socket of upgradeSockets) socket.destroy();
    // The rest of the run happens while the page is away (its backoff is at least 25 ms):
    // events #3–#5 reach only the log, and must come back through the resume.
    gate.resolve();

    await expect.poll(() => upgradeSockets.length).toBeGreaterThan(socketsBefore);
    await expect.poll(() => page.locator('#resume').textContent()).toContain(`complete: every event after #${seqBeforeCut}`);
    await expect.poll(() => run.locator('.reply').textContent()).toBe('echo: cut me');
    const events = await timeline(page, 'cut me');
    expect(events.map((e) => e.event)).toEqual(RUN_EVENTS);
    const seqs = events.map((e) => e.seq);
    expect(seqs).toEqual(Array.from({ length: 5 }, (_, i) => seqs[0]! + i));
    expect(await page.locator('#stream').textContent()).toContain('in order, no gap');
    expect(await page.locator('#state').textContent()).toContain('ready');

    await page.screenshot({ path: artifactPath('demo-page-resumed.png'), fullPage: true });
    await page.close();
    // The drop itself is logged by Chromium ("WebSocket connection … failed"); nothing else may be.
    expect(problems.filter((p) => !/WebSocket connection to .* failed/.test(p))).toEqual([]);
  });

  it('renders the generated connection SVG', async () => {
    const page = await browser.context.newPage();
    const response = await page.goto(`${harness.httpUrl}/connection.svg`);
    expect(response?.headers()['content-type']).toBe('image/svg+xml');
    const box = await page.locator('svg').boundingBox();
    expect(box?.width).toBeGreaterThan(500);
    // One node per state of the connection machine (machines/connection.ts), as the chart draws them.
    expect(await page.locator('svg [data-state]').count()).toBe(24); // the handshake's four states included
    // A full-page capture of a bare SVG document stalls in headless Chromium: size the viewport instead.
    await page.setViewportSize({ width: Math.ceil(box!.width), height: Math.ceil(box!.height) });
    await page.screenshot({ path: artifactPath('connection-svg.png') });
    await page.close();
  });
});
