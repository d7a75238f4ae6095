import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import avro from 'avsc';
import { describe, expect, it } from 'vitest';
import { avroRecordNames, loadSchemaSet, projectSchemaSet, readSchemaModel, recordSchema, selfContainedSchemaJson } from '../src/index.ts';
import type { JsonValue } from '../src/schema-model.ts';
import { buildSchemaModel } from '../src/schema-model.ts';

const ns = 'io.confluent.examples.streams.avro.microservices';

function modelOf(...schemas: JsonValue[]) {
  return buildSchemaModel(schemas.map((json, index) => ({ source: `schema-${index}.avsc`, json })));
}

function schemaDirectory(files: Record<string, unknown>): string {
  const directory = mkdtempSync(join(tmpdir(), 'avsc-'));
  for (const [name, json] of Object.entries(files)) writeFileSync(join(directory, name), JSON.stringify(json));
  return directory;
}

describe('project schemas', () => {
  it('has one self-contained schema per record, each a valid Avro schema', () => {
    const { records } = projectSchemaSet();
    expect([...records.keys()].sort()).toEqual([...avroRecordNames].sort());
    for (const record of records.values()) {
      expect(record.fullName).toBe(`${ns}.${record.name}`);
      expect(avro.Type.forSchema(JSON.parse(record.json)).equals(record.type)).toBe(true);
    }
  });

  it('inlines referenced enums at first use, laid out like Avro Java Schema.toString()', () => {
    expect(recordSchema('Order').json).toBe(
      `{"type":"record","name":"Order","namespace":"${ns}","fields":[` +
        '{"name":"id","type":"string"},{"name":"customerId","type":"long"},' +
        '{"name":"state","type":{"type":"enum","name":"OrderState","symbols":["CREATED","VALIDATED","FAILED","SHIPPED"]}},' +
        '{"name":"product","type":{"type":"enum","name":"Product","symbols":["JUMPERS","UNDERPANTS","STOCKINGS"]}},' +
        '{"name":"quantity","type":"int"},{"name":"price","type":"double"}]}',
    );
  });

  it('inlines a referenced record with its own references', () => {
    const orderValue = JSON.parse(recordSchema('OrderValue').json);
    expect(orderValue.fields[0]).toEqual({ name: 'order', type: JSON.parse(recordSchema('Order').json.replace(`,"namespace":"${ns}"`, '')) });
    expect(orderValue.fields[1]).toEqual({ name: 'value', type: 'double' });
  });

  it('keeps the Customer level default', () => {
    expect(JSON.parse(recordSchema('Customer').json).fields.at(-1)).toEqual({ name: 'level', type: 'string', default: 'bronze' });
  });

  it('keeps every .avsc file to exactly one named type, with no duplicates', () => {
    const model = readSchemaModel();
    expect(model.topLevel).toHaveLength(model.namedTypes.size);
  });
});

describe('self-contained schema writer', () => {
  const color = { type: 'enum', name: 'Color', namespace: 'a', symbols: ['RED'] };

  it('refers by short name to a type already written in the same namespace', () => {
    const model = modelOf(color, {
      type: 'record',
      name: 'Pair',
      namespace: 'a',
      fields: [
        { name: 'first', type: 'a.Color' },
        { name: 'second', type: 'Color' },
        { name: 'all', type: { type: 'array', items: 'Color' } },
      ],
    });
    expect(JSON.parse(selfContainedSchemaJson(model, 'a.Pair')).fields).toEqual([
      { name: 'first', type: { type: 'enum', name: 'Color', symbols: ['RED'] } },
      { name: 'second', type: 'Color' },
      { name: 'all', type: { type: 'array', items: 'Color' } },
    ]);
  });

  it('writes the namespace of, and full names for, types from another namespace', () => {
    const model = modelOf(color, {
      type: 'record',
      name: 'Paint',
      namespace: 'b',
      fields: [
        { name: 'color', type: 'a.Color' },
        { name: 'other', type: ['null', 'a.Color'], default: null },
      ],
    });
    expect(selfContainedSchemaJson(model, 'b.Paint')).toBe(
      '{"type":"record","name":"Paint","namespace":"b","fields":[' +
        '{"name":"color","type":{"type":"enum","name":"Color","namespace":"a","symbols":["RED"]}},' +
        '{"name":"other","type":["null","a.Color"],"default":null}]}',
    );
  });

  it('orders attributes like Java and keeps extra properties', () => {
    const model = modelOf({
      name: 'Event',
      type: 'record',
      doc: 'an event',
      fields: [{ type: { type: 'long', logicalType: 'timestamp-millis' }, name: 'at', doc: 'when', default: 0, order: 'descending' }],
    });
    expect(selfContainedSchemaJson(model, 'Event')).toBe(
      '{"type":"record","name":"Event","doc":"an event","fields":[' +
        '{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"},"doc":"when","default":0,"order":"descending"}]}',
    );
  });

  it('handles recursive records', () => {
    const model = modelOf({ type: 'record', name: 'Node', namespace: 'a', fields: [{ name: 'next', type: ['null', 'Node'] }] });
    expect(selfContainedSchemaJson(model, 'a.Node')).toBe(
      '{"type":"record","name":"Node","namespace":"a","fields":[{"name":"next","type":["null","Node"]}]}',
    );
  });

  it('reports unknown, duplicate and misplaced types', () => {
    expect(() => modelOf({ type: 'record', name: 'R', fields: [{ name: 'x', type: 'Missing' }] })).toThrow('unknown type "Missing"');
    expect(() => modelOf(color, color)).toThrow('type a.Color is already defined in schema-0.avsc');
    expect(() => modelOf('string')).toThrow('must be a named type');
  });
});

describe('loading a schema directory', () => {
  it('requires each file to be named after the type it defines', () => {
    const directory = schemaDirectory({ 'Wrong.avsc': { type: 'enum', name: 'Right', symbols: ['A'] } });
    expect(() => loadSchemaSet(directory)).toThrow('name the file after the type it defines');
  });

  it('resolves references across files', () => {
    const directory = schemaDirectory({
      'Color.avsc': { type: 'enum', name: 'Color', namespace: 'a', symbols: ['RED'] },
      'Car.avsc': { type: 'record', name: 'Car', namespace: 'a', fields: [{ name: 'color', type: 'a.Color' }] },
    });
    const car = recordSchema('Car', loadSchemaSet(directory));
    expect(car.type.toBuffer({ color: 'RED' })).toEqual(Buffer.from([0]));
  });

  it('reports a file that is not JSON', () => {
    const directory = mkdtempSync(join(tmpdir(), 'avsc-'));
    writeFileSync(join(directory, 'Bad.avsc'), '{ not json');
    expect(() => loadSchemaSet(directory)).toThrow('Bad.avsc: not valid JSON');
  });
});
