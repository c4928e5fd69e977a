/**
 * Positional parameters for SQL built from optional filters: `add(value)` appends a value and
 * returns its `$n` reference, so values always travel as parameters and never as SQL text.
 *
 *   const { params, add } = sqlParams(tenantId);      // $1 is the tenant
 *   if (q.status) where.push(`status = ${add(q.status)}`);
 */
export function sqlParams(...initial: unknown[]) {
  const params: unknown[] = [...initial];
  const add = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  return { params, add };
}
