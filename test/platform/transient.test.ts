import { describe, expect, it } from 'vitest';
import { isTransientDatabaseError, retryTransient } from '../../src/platform/db/transient.ts';

// What counts as "the database went away" (issue 16): only those errors are waited out.
describe('transient database errors', () => {
  const coded = (code: string, message = 'x') => Object.assign(new Error(message), { code });

  it('recognises lost connections and restarting servers, also when wrapped', () => {
    for (const error of [
      coded('ECONNREFUSED'),
      coded('ECONNRESET'),
      coded('57P01', 'terminating connection due to administrator command'),
      coded('57P03', 'the database system is starting up'),
      coded('08006'),
      new Error('Connection terminated unexpectedly'),
      new Error('Client has encountered a connection error and is not queryable'),
      new Error('Failed query: insert …', { cause: coded('ECONNREFUSED') }),
    ])
      expect(isTransientDatabaseError(error), String(error)).toBe(true);
  });

  it('leaves errors about the statement itself alone', () => {
    for (const error of [
      coded('23505', 'duplicate key value violates unique constraint'),
      coded('40001', 'could not serialize access'),
      coded('42P01', 'relation does not exist'),
      new Error('boom'),
      undefined,
      'ECONNREFUSED',
    ])
      expect(isTransientDatabaseError(error), String(error)).toBe(false);
  });

  it('tries again through an outage, and gives up on anything else at once', async () => {
    let calls = 0;
    const result = await retryTransient(
      async () => {
        calls++;
        if (calls < 3) throw coded('ECONNREFUSED');
        return 'stored';
      },
      { maxMs: 5_000 },
    );
    expect({ result, calls }).toEqual({ result: 'stored', calls: 3 });

    calls = 0;
    await expect(
      retryTransient(
        async () => {
          calls++;
          throw coded('23505');
        },
        { maxMs: 5_000 },
      ),
    ).rejects.toMatchObject({ code: '23505' });
    expect(calls).toBe(1);

    // Past the bound the last error is thrown.
    await expect(
      retryTransient(
        async () => {
          throw coded('57P01');
        },
        { maxMs: 100 },
      ),
    ).rejects.toMatchObject({ code: '57P01' });
  });
});
