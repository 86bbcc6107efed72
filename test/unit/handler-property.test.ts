/** lockstep/testing's handlerProperty: passes for a correct handler, catches broken ones. */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { handlerProperty } from '../../src/testing/index.js';
import { demoAgent } from '../../src/agent/demo-agent.js';
import type { MessageHandler } from '../../src/agent/handler.js';

async function failure(handler: MessageHandler): Promise<string> {
  const details = await fc.check(handlerProperty(handler), { numRuns: 50, seed: 1 });
  expect(details.failed).toBe(true);
  return String(details.errorInstance);
}

describe('handlerProperty', () => {
  it('holds for the demo agent', async () => {
    await fc.assert(handlerProperty(demoAgent), { numRuns: 50 });
  });

  it('catches a handler that completes a tool call it never started', async () => {
    expect(await failure((_m, run) => run.toolCompleted('t1'))).toContain('emitted out of order');
  });

  it('catches a handler that returns with a tool call open', async () => {
    expect(await failure((_m, run) => run.toolStarted('t1'))).toContain('tool calls open');
  });

  it('catches a handler that throws on some input', async () => {
    const handler: MessageHandler = (message) => {
      if (message.text.length > 3) throw new Error('too long');
      return 'ok';
    };
    expect(await failure(handler)).toContain('the handler threw: Error: too long');
  });
});
