#!/usr/bin/env node
/**
 * Fails when src/api/schema.d.ts is not what `npm run gen:api` makes of docs/openapi.json (the
 * committed types drifted from the API): `make lint` and CI run it; `npm run gen:api` fixes it.
 * It runs gen:api's own command (from package.json), its options included, into a scratch file.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OUT = 'src/api/schema.d.ts';
const [bin, ...args] = JSON.parse(readFileSync('package.json', 'utf8')).scripts['gen:api'].split(/\s+/);
const dir = mkdtempSync(join(tmpdir(), 'attnviz-api-'));
try {
  const out = join(dir, 'schema.d.ts');
  execFileSync('npx', [bin, ...args.map((a) => (a === OUT ? out : a))], { stdio: 'ignore' });
  if (readFileSync(out, 'utf8') !== readFileSync(OUT, 'utf8')) {
    console.error(`${OUT} differs from docs/openapi.json: run \`npm run gen:api\` and commit it.`);
    process.exit(1);
  }
  console.log(`${OUT} matches docs/openapi.json`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
