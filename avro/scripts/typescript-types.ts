import { fileURLToPath } from 'node:url';
import type {
  EnumModel,
  FieldModel,
  FixedModel,
  NamedTypeModel,
  PrimitiveTypeName,
  RecordModel,
  SchemaModel,
  TypeModel,
} from '../src/schema-model.ts';

/** The generated file, committed so that services type-check without a build step. */
export const generatedTypesFile = fileURLToPath(new URL('../src/generated/types.ts', import.meta.url));

/**
 * Renders the TypeScript view of the schema model: enums as string-literal unions backed by a const
 * array of their symbols, records as interfaces, plus a name → type map for typed serdes.
 * The output is what avsc decodes to with its default options (long as number, bytes as Buffer).
 */
export function renderTypeScriptTypes(model: SchemaModel): string {
  const named = [...model.namedTypes.values()];
  const byName = (a: NamedTypeModel, b: NamedTypeModel): number => a.name.localeCompare(b.name);
  const enums = named.filter((type): type is EnumModel => type.kind === 'enum').sort(byName);
  const fixeds = named.filter((type): type is FixedModel => type.kind === 'fixed').sort(byName);
  const records = named.filter((type): type is RecordModel => type.kind === 'record').sort(byName);
  const shortNames = new Map<string, string>();
  for (const type of named) {
    const clash = [...shortNames.entries()].find(([, shortName]) => shortName === type.name);
    if (clash !== undefined) throw new Error(`${clash[0]} and ${type.fullName} share the TypeScript name ${type.name}`);
    shortNames.set(type.fullName, type.name);
  }
  const typeName = (fullName: string): string => shortNames.get(fullName) ?? fail(`unknown type ${fullName}`);

  const sections = [
    '// Generated from avro/schemas/*.avsc by avro/scripts/generate-types.ts.\n' +
      '// Do not edit: change the .avsc files and run `npm run generate:avro`.',
    ...enums.map(renderEnum),
    ...fixeds.map((fixed) => `${docComment(namedDoc(fixed, `fixed(${fixed.size})`), '')}export type ${fixed.name} = Buffer;`),
    ...records.flatMap((record) => renderRecord(record, typeName, model)),
    [
      '/** Every Avro record of the project, by short name. */',
      'export interface AvroRecords {',
      ...records.map((record) => `  ${record.name}: ${record.name};`),
      '}',
      '',
      'export type AvroRecordName = keyof AvroRecords;',
      '',
      `export const avroRecordNames = [${records.map((record) => quote(record.name)).join(', ')}] as const satisfies readonly AvroRecordName[];`,
    ].join('\n'),
  ];
  return `${sections.join('\n\n')}\n`;
}

function renderEnum(enumType: EnumModel): string {
  const symbolsName = `${lowerFirst(enumType.name)}Symbols`;
  return [
    `${docComment(namedDoc(enumType, 'enum'), '')}export const ${symbolsName} = [${enumType.symbols.map(quote).join(', ')}] as const;`,
    `export type ${enumType.name} = (typeof ${symbolsName})[number];`,
  ].join('\n');
}

function renderRecord(record: RecordModel, typeName: (fullName: string) => string, model: SchemaModel): string[] {
  const fields = record.fields.map((field) => `${docComment(fieldDoc(field), '  ') || '  '}${field.name}: ${renderType(field.type, typeName)};`);
  const rendered = [`${docComment(namedDoc(record, 'record'), '')}export interface ${record.name} {\n${fields.join('\n')}\n}`];
  const defaults = record.fields.filter((field) => field.defaultValue !== undefined && !hasBinaryDefault(field, model));
  if (defaults.length > 0) {
    const entries = defaults.map((field) => `${field.name}: ${JSON.stringify(field.defaultValue)}`).join(', ');
    rendered.push(
      `/** The values a reader gives to ${record.name} fields that the writer's schema lacks. */\n` +
        `export const ${lowerFirst(record.name)}Defaults = { ${entries} } as const satisfies Partial<${record.name}>;`,
    );
  }
  return rendered;
}

const primitiveTypeScript: Record<PrimitiveTypeName, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

function renderType(type: TypeModel, typeName: (fullName: string) => string): string {
  switch (type.kind) {
    case 'primitive':
      return primitiveTypeScript[type.primitive];
    case 'reference':
      return typeName(type.fullName);
    case 'array': {
      const items = renderType(type.items, typeName);
      return type.items.kind === 'union' ? `(${items})[]` : `${items}[]`;
    }
    case 'map':
      return `Record<string, ${renderType(type.values, typeName)}>`;
    case 'union': {
      // avsc wraps unions with several non-null branches ({ branchName: value }); keeping schemas to
      // nullable unions keeps decoded values plain.
      const nonNull = type.branches.filter((branch) => !(branch.kind === 'primitive' && branch.primitive === 'null'));
      if (nonNull.length > 1) throw new Error('unions with more than one non-null branch are not supported');
      return type.branches.map((branch) => renderType(branch, typeName)).join(' | ');
    }
  }
}

/** Avro writes bytes defaults as strings, which do not fit the Buffer they decode to. */
function hasBinaryDefault(field: FieldModel, model: SchemaModel): boolean {
  const type = field.type.kind === 'union' ? field.type.branches[0] : field.type;
  if (type?.kind === 'primitive') return type.primitive === 'bytes';
  return type?.kind === 'reference' && model.namedTypes.get(type.fullName)?.kind === 'fixed';
}

function namedDoc(type: NamedTypeModel, kind: string): string[] {
  return [...(type.doc === undefined ? [] : [type.doc]), `Avro ${kind} \`${type.fullName}\`.`];
}

function fieldDoc(field: FieldModel): string[] {
  const lines = field.doc === undefined ? [] : [field.doc];
  if (field.type.kind === 'primitive' && (field.type.primitive === 'int' || field.type.primitive === 'long')) {
    lines.push(field.type.primitive === 'int' ? 'Avro int: a 32-bit signed integer.' : 'Avro long: a safe integer.');
  }
  if (field.defaultValue !== undefined) lines.push(`Defaults to ${JSON.stringify(field.defaultValue)} when the writer's schema lacks the field.`);
  return lines;
}

function docComment(lines: string[], indent: string): string {
  if (lines.length === 0) return '';
  const safe = lines.map((line) => line.replaceAll('*/', '*\\/'));
  if (safe.length === 1) return `${indent}/** ${safe[0]} */\n${indent}`;
  return `${indent}/**\n${safe.map((line) => `${indent} * ${line}`).join('\n')}\n${indent} */\n${indent}`;
}

function quote(identifier: string): string {
  return `'${identifier}'`;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function fail(message: string): never {
  throw new Error(message);
}
