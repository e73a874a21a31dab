import { type Connection } from '@temporalio/client';
import proto from '@temporalio/proto';

const { temporal } = proto;
import { searchAttributes } from './search-attributes.js';

const INDEXED: Record<string, proto.temporal.api.enums.v1.IndexedValueType> = {
  KEYWORD: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  TEXT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
  INT: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_INT,
  BOOL: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
  DATETIME: temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
};

/**
 * Registers the project's search attributes on a cluster (the dev server gets them as start flags). Adding
 * ones that already exist is not an error, so this runs safely at every start.
 */
export async function registerSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string): Promise<void> {
  for (const a of searchAttributes) {
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: { [a.name]: INDEXED[a.type.toUpperCase()]! } });
    } catch (err) {
      if ((err as { code?: number }).code !== 6 /* ALREADY_EXISTS */) throw err;
    }
  }
}
