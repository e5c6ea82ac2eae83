// Print every view of schema `analytics` in a DuckDB file, as JSON, the way @duckdb/node-api reads it.
//
//     cd <folder where @duckdb/node-api is installed> && node /path/to/read_views.mjs PATH/benchmarks.duckdb
//
// @duckdb/node-api is resolved from the working directory (tests/readers.py runs this from its cache folder), so
// the script itself can live anywhere. The file is opened read-only (access_mode READ_ONLY). Prints the same JSON as
// read_views.py, with the same normalisation:
//
//     {"reader": "node @duckdb/node-api 1.4.5-r.1 (duckdb v1.4.5)",
//      "views": {"<view>": {"columns": ["<name>", ...], "rows": [[<value>, ...], ...]}, ...}}
//
// TIMESTAMP WITH TIME ZONE as a UTC ISO string with microseconds (`2025-01-18T05:32:58.733000Z`), TIMESTAMP the same
// without the `Z`, DATE as `YYYY-MM-DD`, BIGINT/HUGEINT (BigInt here) as exact JSON integers, DECIMAL and floating
// point as JSON numbers (NaN and infinities as "nan", "inf", "-inf"), NULL as null, BLOB as hex, LIST and STRUCT
// recursively, anything else as its string form.

import { createRequire } from 'node:module';
import path from 'node:path';
import process from 'node:process';
import { pathToFileURL } from 'node:url';

const VIEWS_SQL =
  "select table_name from information_schema.tables " +
  "where table_schema = 'analytics' and table_type = 'VIEW' and table_catalog = current_database() " +
  "order by table_name";

const requireHere = createRequire(path.join(process.cwd(), 'package.json'));
const loaded = await import(pathToFileURL(requireHere.resolve('@duckdb/node-api')).href);
const api = loaded.DuckDBInstance ? loaded : loaded.default;
const apiVersion = requireHere('@duckdb/node-api/package.json').version;

const quote = (identifier) => '"' + identifier.replaceAll('"', '""') + '"';

function isoFromMicros(micros, suffix) {
  let seconds = micros / 1000000n;
  let fraction = micros % 1000000n;
  if (fraction < 0n) {
    fraction += 1000000n;
    seconds -= 1n;
  }
  const whole = new Date(Number(seconds) * 1000).toISOString().slice(0, 19);
  return `${whole}.${fraction.toString().padStart(6, '0')}${suffix}`;
}

function number(value) {
  if (Number.isFinite(value)) return value;
  return Number.isNaN(value) ? 'nan' : value > 0 ? 'inf' : '-inf';
}

function normalise(value) {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'boolean':
    case 'string':
    case 'bigint':
      return value;
    case 'number':
      return number(value);
    default:
      break;
  }
  if (value instanceof api.DuckDBTimestampTZValue) return isoFromMicros(value.micros, 'Z');
  if (value instanceof api.DuckDBTimestampValue) return isoFromMicros(value.micros, '');
  if (value instanceof api.DuckDBDateValue) return new Date(value.days * 86400000).toISOString().slice(0, 10);
  if (value instanceof api.DuckDBTimeValue) return isoFromMicros(value.micros, '').slice(11);
  if (value instanceof api.DuckDBDecimalValue) return number(value.toDouble());
  if (value instanceof api.DuckDBBlobValue) return Buffer.from(value.bytes).toString('hex');
  if (value instanceof api.DuckDBListValue || value instanceof api.DuckDBArrayValue) return value.items.map(normalise);
  if (value instanceof api.DuckDBStructValue) {
    return Object.fromEntries(Object.entries(value.entries).map(([key, item]) => [key, normalise(item)]));
  }
  return String(value);
}

// JSON.stringify cannot write a BigInt; this writes it as an exact integer.
function toJson(value) {
  if (typeof value === 'bigint') return value.toString();
  if (Array.isArray(value)) return '[' + value.map(toJson).join(',') + ']';
  if (value !== null && typeof value === 'object') {
    return '{' + Object.entries(value).map(([key, item]) => JSON.stringify(key) + ':' + toJson(item)).join(',') + '}';
  }
  return JSON.stringify(value);
}

async function readViews(file) {
  const instance = await api.DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  const connection = await instance.connect();
  try {
    const catalog = (await connection.runAndReadAll('select current_database()')).getRows()[0][0];
    const views = {};
    for (const [view] of (await connection.runAndReadAll(VIEWS_SQL)).getRows()) {
      const reader = await connection.runAndReadAll(
        `select * from ${quote(catalog)}.analytics.${quote(view)} order by all`);
      views[view] = { columns: reader.columnNames(), rows: reader.getRows().map((row) => row.map(normalise)) };
    }
    return { reader: `node @duckdb/node-api ${apiVersion} (duckdb ${api.version()})`, views };
  } finally {
    connection.closeSync();
    instance.closeSync?.();
  }
}

if (process.argv.length !== 3) {
  process.stderr.write('usage: node read_views.mjs PATH/TO/FILE.duckdb\n');
  process.exit(2);
}
try {
  process.stdout.write(toJson(await readViews(process.argv[2])));
} catch (error) {
  process.stderr.write(`error: ${error.message}\n`);
  process.exitCode = 1;
}
