/**
 * Regenerates avro/src/generated/types.ts from avro/schemas/*.avsc.
 * Usage: npx tsx avro/scripts/generate-types.ts [--check]
 * With --check it writes nothing and exits 1 when the committed file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { readSchemaModel } from '../src/schemas.ts';
import { generatedTypesFile, renderTypeScriptTypes } from './typescript-types.ts';

const outputPath = generatedTypesFile;
const rendered = renderTypeScriptTypes(readSchemaModel());
const current = readCurrent(outputPath);

if (process.argv.includes('--check')) {
  if (current !== rendered) {
    console.error(`${outputPath} is out of date: run npm run generate:avro`);
    process.exitCode = 1;
  }
} else if (current === rendered) {
  console.log(`${outputPath} is up to date`);
} else {
  writeFileSync(outputPath, rendered);
  console.log(`wrote ${outputPath}`);
}

function readCurrent(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
