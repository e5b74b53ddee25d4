import { EntityManager, Repository, ObjectLiteral } from 'typeorm';

type Queryable = Pick<EntityManager, 'query'> | Pick<Repository<ObjectLiteral>, 'query'>;

/**
 * Run raw SQL and return its rows. TypeORM's postgres driver returns
 * `[rows, rowCount]` for UPDATE and DELETE but plain rows for SELECT and
 * INSERT; this hides the difference so RETURNING works the same everywhere.
 */
export async function queryRows<Row>(target: Queryable, sql: string, parameters: unknown[] = []): Promise<Row[]> {
  const result: unknown = await target.query(sql, parameters);
  if (!Array.isArray(result)) return [];
  if (result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') return result[0] as Row[];
  return result as Row[];
}
