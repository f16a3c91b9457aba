#!/usr/bin/env node
/**
 * Fails when src/api/schema.d.ts is not what `npm run gen:api` makes of docs/openapi.json (the
 * committed types drifted from the API): `make lint` and CI run it; `npm run gen:api` fixes it.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dir = mkdtempSync(join(tmpdir(), 'attnviz-api-'));
try {
  const out = join(dir, 'schema.d.ts');
  execFileSync('npx', ['openapi-typescript', '../docs/openapi.json', '-o', out], { stdio: 'ignore' });
  if (readFileSync(out, 'utf8') !== readFileSync('src/api/schema.d.ts', 'utf8')) {
    console.error('src/api/schema.d.ts differs from docs/openapi.json: run `npm run gen:api` and commit it.');
    process.exit(1);
  }
  console.log('src/api/schema.d.ts matches docs/openapi.json');
} finally {
  rmSync(dir, { recursive: true, force: true });
}
