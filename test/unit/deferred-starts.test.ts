/**
 * DeferredStarts (src/server/deferred-starts.ts): the server starts every accepted message's
 * run a microtask after the code that accepted it returned, in acceptance order, with one
 * microtask for all the messages accepted in one turn, and a start that throws loses no other.
 */
import { describe, expect, it } from 'vitest';
import { DeferredStarts } from '../../src/server/deferred-starts.js';

describe('DeferredStarts', () => {
  it('runs nothing while the queueing code runs, then every item in order, in one microtask for the turn', async () => {
    const log: string[] = [];
    const starts = new DeferredStarts<string, number>((name, n) => log.push(`${name}${n}`), () => log.push('error'));
    starts.add('a', 1);
    queueMicrotask(() => log.push('queued after the first item'));
    starts.add('b', 2);
    starts.add('c', 3);
    expect(log).toEqual([]);
    expect(starts.pending).toBe(3);
    await Promise.resolve();
    // The three ran in the microtask of the first: before one queued between them.
    expect(log).toEqual(['a1', 'b2', 'c3', 'queued after the first item']);
    expect(starts.pending).toBe(0);
  });

  it('an item queued by a running item runs in the same pass, after the ones before it; the next turn gets a new microtask', async () => {
    const log: number[] = [];
    const starts: DeferredStarts<number, null> = new DeferredStarts((n) => {
      log.push(n);
      if (n === 1) starts.add(3, null);
    }, () => {});
    starts.add(1, null);
    starts.add(2, null);
    await Promise.resolve();
    expect(log).toEqual([1, 2, 3]);
    starts.add(4, null);
    await Promise.resolve();
    expect(log).toEqual([1, 2, 3, 4]);
  });

  it('a start that throws is reported with its item, and the items after it still run', async () => {
    const ran: string[] = [];
    const errors: Array<{ message: string; item: string }> = [];
    const starts = new DeferredStarts<string, string>((id) => {
      if (id === 'bad') throw new Error('onTrace threw');
      ran.push(id);
    }, (error, id, detail) => errors.push({ message: (error as Error).message, item: `${id}/${detail}` }));
    starts.add('first', 'x');
    starts.add('bad', 'y');
    starts.add('last', 'z');
    await Promise.resolve();
    expect(ran).toEqual(['first', 'last']);
    expect(errors).toEqual([{ message: 'onTrace threw', item: 'bad/y' }]);
    expect(starts.pending).toBe(0);
  });
});
