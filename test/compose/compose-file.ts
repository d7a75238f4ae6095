import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { z } from 'zod';

/**
 * The Compose file as this project writes it: a strict subset of the Compose Specification.
 * Unknown keys fail (a misspelt `depend_on` would otherwise be ignored by nobody but Docker),
 * and so do forms the checks cannot read. Not a copy of the specification's JSON schema, which
 * no installed package ships (see the compose-static test).
 */

const duration = z.string().regex(/^(\d+(ms|s|m|h))+$/, 'expected a duration such as 10s or 1m30s');
const words = z.array(z.string()).min(1);
const variableName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_.]*$/, 'expected an environment variable name');

const healthcheck = z.strictObject({
  test: z.union([z.tuple([z.enum(['CMD', 'CMD-SHELL'])], z.string()), z.string()]),
  interval: duration.optional(),
  timeout: duration.optional(),
  retries: z.number().int().positive().optional(),
  start_period: duration.optional(),
});

const dependency = z.strictObject({
  condition: z.enum(['service_started', 'service_healthy', 'service_completed_successfully']),
});

const service = z.strictObject({
  image: z.string().optional(),
  build: z.strictObject({ context: z.string(), dockerfile: z.string() }).optional(),
  init: z.boolean().optional(),
  restart: z.enum(['no', 'always', 'on-failure', 'unless-stopped']),
  profiles: z.array(z.string()).min(1).optional(),
  entrypoint: words.optional(),
  command: words.optional(),
  // Strings only: unquoted, YAML would turn `true`, `1e3` or `0100` into other values.
  environment: z.record(variableName, z.string()).optional(),
  ports: z.array(z.string().regex(/^127\.0\.0\.1:\d{1,5}:\d{1,5}$/, 'expected 127.0.0.1:<host port>:<container port>')).optional(),
  volumes: z.array(z.string().regex(/^[a-z][\w.-]*:\/[^:]*(:ro)?$/, 'expected <named volume>:<absolute path>[:ro]')).optional(),
  depends_on: z.record(z.string(), dependency).optional(),
  healthcheck: healthcheck.optional(),
  stop_grace_period: duration.optional(),
});

const composeFile = z.strictObject({
  services: z.record(z.string().regex(/^[a-z][a-z0-9-]*$/), service),
  volumes: z.record(z.string(), z.null()).optional(),
});

export type ComposeService = z.infer<typeof service>;
export type ComposeFile = z.infer<typeof composeFile>;

// js-yaml is a full YAML parser, merge keys (`<<: *anchor`) included; it ships no types.
const yaml = createRequire(import.meta.url)('js-yaml') as { load: (text: string, options: { filename: string }) => unknown };

/** Parses and checks the file; `problems` lists every deviation (empty when it conforms). */
export function readComposeFile(file: string): { compose: ComposeFile; problems: string[] } {
  const document = yaml.load(readFileSync(file, 'utf8'), { filename: file });
  if (typeof document !== 'object' || document === null || Array.isArray(document)) throw new Error(`${file}: expected a mapping at the top`);
  // Top-level `x-` keys hold the anchors the services merge in.
  const entries = Object.entries(document);
  const extensions = entries.filter(([key]) => key.startsWith('x-')).map(([key]) => key);
  const result = composeFile.safeParse(Object.fromEntries(entries.filter(([key]) => !extensions.includes(key))));
  if (!result.success) {
    return { compose: { services: {} }, problems: result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) };
  }
  return { compose: result.data, problems: [] };
}

/**
 * A value as Compose passes it to the container: `$$` is a literal `$`, `${NAME:-default}`
 * takes its default. A variable without default would depend on the caller's shell, which
 * the stack must not.
 */
export function interpolate(value: string): string {
  return value.replace(/\$\$|\$\{([A-Za-z_]\w*)(?::?-([^}]*))?\}|\$([A-Za-z_]\w*)/g, (match, _braced: string | undefined, fallback: string | undefined) => {
    if (match === '$$') return '$';
    if (fallback === undefined) throw new Error(`${match} in ${JSON.stringify(value)} has no default`);
    return fallback;
  });
}

/** The container's environment after interpolation. */
export function environmentOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([name, value]) => [name, interpolate(value)]));
}

/** Entry point and arguments as run: the service's own, else the image's ENTRYPOINT + the service's command. */
export function commandLineOf(service: ComposeService, imageEntrypoint: string[]): string[] {
  return [...(service.entrypoint ?? imageEntrypoint), ...(service.command ?? [])].map(interpolate);
}

/** `127.0.0.1:8000:8001` as `{ published: 8000, target: 8001 }`. */
export function portsOf(service: ComposeService): Array<{ published: number; target: number }> {
  return (service.ports ?? []).map((port) => {
    const [, published, target] = port.split(':');
    return { published: Number(published), target: Number(target) };
  });
}

/** `kafka-data:/var/lib/kafka/data` as `{ volume: 'kafka-data', target: '/var/lib/kafka/data' }`. */
export function volumesOf(service: ComposeService): Array<{ volume: string; target: string }> {
  return (service.volumes ?? []).map((mount) => {
    const [volume = '', target = ''] = mount.split(':');
    return { volume, target };
  });
}
