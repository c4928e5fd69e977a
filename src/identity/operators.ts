import type { Database, Tx } from '../platform/db/client.ts';
import { hashPassword } from '../platform/crypto/passwords.ts';
import { conflict } from '../platform/errors.ts';
import type { Actor, Audit } from './audit.ts';
import { assertStrongPassword } from './password-policy.ts';

/** An operator as the API returns it. */
export type Operator = { id: string; email: string; name: string; createdAt: string };

type Row = { id: string; email: string; name: string; created_at: Date | string };
const toOperator = (r: Row): Operator => ({
  id: r.id,
  email: r.email,
  name: r.name,
  createdAt: new Date(r.created_at).toISOString(),
});

/** Platform operators: the first one by bootstrap (only while none exist), more from the CLI. */
export function createOperators(deps: { database: Database; audit: Audit }) {
  const { database, audit } = deps;

  async function insert(
    tx: Tx,
    input: { email: string; password: string; name?: string },
  ): Promise<Operator> {
    assertStrongPassword(input.password, { email: input.email });
    const taken = await tx.query('SELECT 1 FROM operators WHERE lower(email) = lower($1)', [input.email]);
    if (taken.rows.length > 0) throw conflict('OPERATOR_EXISTS', 'An operator with this e-mail exists');
    const { rows } = await tx.query<Row>(
      'INSERT INTO operators (email, name, password_hash) VALUES ($1, $2, $3) RETURNING id, email, name, created_at',
      [input.email, input.name ?? '', await hashPassword(input.password)],
    );
    return toOperator(rows[0]);
  }

  return {
    /** Creates the first operator; 409 BOOTSTRAP_DONE once any operator exists. */
    async bootstrap(
      input: { email: string; password: string; name?: string },
      meta: { ip: string },
    ): Promise<Operator> {
      assertStrongPassword(input.password, { email: input.email });
      return database.transaction(async (tx) => {
        // The table lock makes "none exist yet" and the insert one step, across processes.
        await tx.query('LOCK TABLE operators IN EXCLUSIVE MODE');
        const { rows } = await tx.query('SELECT 1 FROM operators LIMIT 1');
        if (rows.length > 0) throw conflict('BOOTSTRAP_DONE', 'An operator exists already; log in instead');
        const operator = await insert(tx, input);
        await audit.record(
          {
            action: 'operator.bootstrapped',
            actor: { kind: 'anonymous', label: input.email },
            target: { kind: 'operator', id: operator.id },
            ip: meta.ip,
            details: { email: operator.email },
          },
          tx,
        );
        return operator;
      });
    },

    /** Adds an operator (CLI, `storeops operator create`). */
    async create(input: { email: string; password: string; name?: string }, actor: Actor): Promise<Operator> {
      return database.transaction(async (tx) => {
        const operator = await insert(tx, input);
        await audit.record(
          {
            action: 'operator.created',
            actor,
            target: { kind: 'operator', id: operator.id },
            details: { email: operator.email },
          },
          tx,
        );
        return operator;
      });
    },

    /** One operator by id. */
    async get(operatorId: string): Promise<Operator | undefined> {
      const { rows } = await database.query<Row>(
        'SELECT id, email, name, created_at FROM operators WHERE id = $1',
        [operatorId],
      );
      return rows[0] ? toOperator(rows[0]) : undefined;
    },
  };
}

/** The operators service. */
export type Operators = ReturnType<typeof createOperators>;
