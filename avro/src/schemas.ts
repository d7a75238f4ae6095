import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { Schema, Type } from 'avsc';
import { selfContainedSchemaJson } from './schema-json.ts';
import type { JsonValue, SchemaModel } from './schema-model.ts';
import { buildSchemaModel, SchemaModelError } from './schema-model.ts';

/** The project's .avsc files: the single source of truth for every Avro type. */
export const defaultSchemaDirectory = fileURLToPath(new URL('../schemas/', import.meta.url));

export interface RecordSchema {
  /** Short name, e.g. `Order`. */
  name: string;
  /** Full name, e.g. `io.confluent.examples.streams.avro.microservices.Order`. */
  fullName: string;
  /** Self-contained schema text, exactly what gets registered under a subject. */
  json: string;
  /** The avsc type of `json`, used as the reader schema when decoding. */
  type: Type;
}

export interface SchemaSet {
  model: SchemaModel;
  /** Every record of the model as a top-level, self-contained schema, by short name. */
  records: ReadonlyMap<string, RecordSchema>;
}

export function readSchemaModel(directory: string = defaultSchemaDirectory): SchemaModel {
  const files = readdirSync(directory)
    .filter((file) => file.endsWith('.avsc'))
    .sort();
  if (files.length === 0) throw new SchemaModelError(`no .avsc files in ${directory}`);
  const sources = files.map((file) => {
    const path = join(directory, file);
    try {
      return { source: path, json: JSON.parse(readFileSync(path, 'utf8')) as JsonValue };
    } catch (error) {
      throw new SchemaModelError(`${path}: not valid JSON`, { cause: error });
    }
  });
  const model = buildSchemaModel(sources);
  model.topLevel.forEach((fullName, index) => {
    const file = basename(sources[index]?.source ?? '', '.avsc');
    if (!fullName.endsWith(`.${file}`) && fullName !== file) {
      throw new SchemaModelError(`${sources[index]?.source}: defines ${fullName}; name the file after the type it defines`);
    }
  });
  return model;
}

export function schemaSetFromModel(model: SchemaModel): SchemaSet {
  const records = new Map<string, RecordSchema>();
  for (const named of model.namedTypes.values()) {
    if (named.kind !== 'record') continue;
    const clash = records.get(named.name);
    if (clash !== undefined) {
      throw new SchemaModelError(`records ${clash.fullName} and ${named.fullName} share the short name ${named.name}`);
    }
    const json = selfContainedSchemaJson(model, named.fullName);
    const type = avro.Type.forSchema(JSON.parse(json) as Schema, { omitRecordMethods: true });
    records.set(named.name, { name: named.name, fullName: named.fullName, json, type });
  }
  return { model, records };
}

export function loadSchemaSet(directory: string = defaultSchemaDirectory): SchemaSet {
  return schemaSetFromModel(readSchemaModel(directory));
}

let projectSchemas: SchemaSet | undefined;

/** The project's schemas, read once on first use. */
export function projectSchemaSet(): SchemaSet {
  projectSchemas ??= loadSchemaSet();
  return projectSchemas;
}

export function recordSchema(name: string, schemas: SchemaSet = projectSchemaSet()): RecordSchema {
  const record = schemas.records.get(name);
  if (record === undefined) throw new SchemaModelError(`no record named ${name} in the schema set`);
  return record;
}
