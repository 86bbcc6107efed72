import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bystanderRoundTrips, ServeProcess } from './attack-harness.js';

describe('attack harness', () => {
  let serve: ServeProcess;
  beforeAll(async () => {
    serve = await ServeProcess.start();
  });
  afterAll(async () => {
    await serve.kill();
  });

  it('serves a bystander and reports the server RSS', async () => {
    await bystanderRoundTrips(serve.wsUrl, 3);
    expect(serve.rssBytes()).toBeGreaterThan(10 * 1024 * 1024);
    expect(await serve.stop()).toBe(0);
  });
});
