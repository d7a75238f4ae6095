import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { InfraError } from '../errors.ts';
import type { JavaRuntime } from '../java.ts';
import type { InfraPaths } from '../paths.ts';

const run = promisify(execFile);

/**
 * What a secured local cluster is made of: a CA of its own and a broker certificate it signed
 * (for 127.0.0.1 and localhost), generated with the JDK's keytool; the inter-broker and
 * controller user; and the one client user, who may log in with SCRAM-SHA-512, SCRAM-SHA-256
 * or PLAIN. Everything lives in `<home>/secure/`, readable by its owner only.
 */
export interface KafkaSecrets {
  directory: string;
  /** The CA's certificate (PEM): what clients trust (KAFKA_SSL_CA_LOCATION). */
  caFile: string;
  /** The broker's key and certificate chain (PKCS12). */
  keystore: string;
  /** The CA, for the brokers' own connections to each other (PKCS12). */
  truststore: string;
  storePassword: string;
  /** Brokers and controllers log in to each other as this user (PLAIN). */
  interBroker: { username: string; password: string };
  /** The user the project's clients log in as. */
  client: { username: string; password: string };
}

/** The client settings clients use against a secured local cluster: SASL_SSL with SCRAM-SHA-512. */
export const localClientMechanism = 'SCRAM-SHA-512';

export function secretsDirectory(paths: InfraPaths): string {
  return path.join(paths.home, 'secure');
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

const secretsFileName = 'secrets.json';

/** The secrets of a cluster's home, if they were made. */
export async function readSecrets(paths: InfraPaths): Promise<KafkaSecrets | undefined> {
  try {
    return JSON.parse(await readFile(path.join(secretsDirectory(paths), secretsFileName), 'utf8')) as KafkaSecrets;
  } catch {
    return undefined;
  }
}

const password = () => randomBytes(18).toString('base64url');

/** The variable through which keytool gets the stores' password. */
const storePasswordVariable = 'ECOSYSTEM_KEYSTORE_PASSWORD';

/**
 * The cluster's secrets: read when they exist, otherwise made once (a new CA, a broker
 * certificate, random passwords). keytool comes with every JDK, and the broker needs one anyway.
 */
export async function ensureSecrets(paths: InfraPaths, java: JavaRuntime): Promise<KafkaSecrets> {
  const existing = await readSecrets(paths);
  if (existing && (await exists(existing.keystore)) && (await exists(existing.caFile))) return existing;
  const directory = secretsDirectory(paths);
  await rm(directory, { recursive: true, force: true });
  await mkdir(directory, { recursive: true, mode: 0o700 });
  const secrets: KafkaSecrets = {
    directory,
    caFile: path.join(directory, 'ca.pem'),
    keystore: path.join(directory, 'broker.p12'),
    truststore: path.join(directory, 'truststore.p12'),
    storePassword: password(),
    interBroker: { username: 'broker', password: password() },
    client: { username: 'ecosystem', password: password() },
  };
  const keytool = path.join(java.home, 'bin', 'keytool');
  const caStore = path.join(directory, 'ca.p12');
  const request = path.join(directory, 'broker.csr');
  const signed = path.join(directory, 'broker.pem');
  // keytool reads the password from its environment: on its command line every user of the machine would see it (ps).
  const store = ['-storetype', 'PKCS12', '-storepass:env', storePasswordVariable];
  const steps: string[][] = [
    // The CA: a key pair whose certificate may sign others (basic constraints CA:true).
    ['-genkeypair', '-alias', 'ca', '-keyalg', 'RSA', '-keysize', '2048', '-dname', 'CN=order-ecosystem local Kafka CA', '-ext', 'bc:c', '-validity', '3650', '-keystore', caStore, ...store],
    ['-exportcert', '-rfc', '-alias', 'ca', '-keystore', caStore, ...store, '-file', secrets.caFile],
    // The brokers' key, and a certificate for the names clients connect to, signed by the CA.
    ['-genkeypair', '-alias', 'broker', '-keyalg', 'RSA', '-keysize', '2048', '-dname', 'CN=localhost', '-validity', '825', '-keystore', secrets.keystore, ...store],
    ['-certreq', '-alias', 'broker', '-keystore', secrets.keystore, ...store, '-file', request],
    [
      '-gencert', '-alias', 'ca', '-keystore', caStore, ...store, '-infile', request, '-outfile', signed, '-rfc', '-validity', '825',
      '-ext', 'SAN=dns:localhost,ip:127.0.0.1', '-ext', 'KU=digitalSignature,keyEncipherment', '-ext', 'EKU=serverAuth,clientAuth',
    ],
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', secrets.caFile, '-keystore', secrets.keystore, ...store],
    ['-importcert', '-noprompt', '-alias', 'broker', '-file', signed, '-keystore', secrets.keystore, ...store],
    ['-importcert', '-noprompt', '-alias', 'ca', '-file', secrets.caFile, '-keystore', secrets.truststore, ...store],
  ];
  for (const args of steps) {
    try {
      // keytool is a small JVM program: the quick compiler starts it faster.
      await run(keytool, ['-J-XX:TieredStopAtLevel=1', ...args], { timeout: 60_000, env: { ...process.env, [storePasswordVariable]: secrets.storePassword } });
    } catch (error) {
      const output = error as { stdout?: string; stderr?: string; message?: string };
      await rm(directory, { recursive: true, force: true });
      throw new InfraError(
        `Making the certificates of the secured Kafka with keytool failed (keytool ${args[0]}).`,
        `Check that ${keytool} runs; \`npm run infra -- reset\` starts again from nothing.`,
        `${output.stdout ?? ''}${output.stderr ?? output.message ?? ''}`,
      );
    }
  }
  await rm(request, { force: true });
  const file = path.join(directory, secretsFileName);
  await writeFile(file, `${JSON.stringify(secrets, null, 2)}\n`, { mode: 0o600 });
  await writeFile(clientEnvironmentFile(paths), clientEnvironmentText(secrets), { mode: 0o600 });
  for (const secret of [caStore, secrets.keystore, secrets.truststore]) await chmod(secret, 0o600);
  return secrets;
}

/** The settings a client of this cluster needs besides KAFKA_BROKERS, as environment variables. */
export function clientEnvironment(secrets: KafkaSecrets): Record<string, string> {
  return {
    KAFKA_SECURITY_PROTOCOL: 'SASL_SSL',
    KAFKA_SASL_MECHANISM: localClientMechanism,
    KAFKA_SASL_USERNAME: secrets.client.username,
    KAFKA_SASL_PASSWORD: secrets.client.password,
    KAFKA_SSL_CA_LOCATION: secrets.caFile,
  };
}

/** `<home>/secure/client.env`: the client settings, for `set -a; . .local/secure/client.env; set +a`. */
export function clientEnvironmentFile(paths: InfraPaths): string {
  return path.join(secretsDirectory(paths), 'client.env');
}

function clientEnvironmentText(secrets: KafkaSecrets): string {
  return [
    '# Written by `npm run infra -- up --secure`: how clients reach the secured local Kafka (SASL_SSL).',
    '# Load it before starting services or tools: set -a; . .local/secure/client.env; set +a',
    ...Object.entries(clientEnvironment(secrets)).map(([name, value]) => `${name}=${value}`),
    '',
  ].join('\n');
}

/** kafka-storage format's arguments that create the client user's SCRAM credentials in the cluster's metadata. */
function scramFormatArguments(secrets: KafkaSecrets): string[] {
  const { username, password: secret } = secrets.client;
  return ['SCRAM-SHA-256', 'SCRAM-SHA-512'].flatMap((mechanism) => ['--add-scram', `${mechanism}=[name=${username},password=${secret}]`]);
}

/** One argument of a Java launcher's argument file: quoted, with backslashes and quotes escaped. */
function argumentFileLine(argument: string): string {
  return `"${argument.replace(/[\\"]/g, (character) => `\\${character}`)}"`;
}

/**
 * Formats a node's storage with Kafka's StorageTool (kafka-storage format), the client user's
 * SCRAM credentials included on a secured cluster. The tool takes them only as arguments, so
 * the main class and its arguments go into a Java argument file (`java ... @file`), readable by
 * its owner only and deleted once the tool is done: the command line, which `ps` shows to
 * every user, holds no password.
 */
export async function formatStorage(options: { java: JavaRuntime; jvmOptions: string[]; clusterId: string; properties: string; secrets: KafkaSecrets | undefined }): Promise<void> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'kafka-format-'));
  try {
    const argumentFile = path.join(folder, 'arguments');
    const toolArguments = ['kafka.tools.StorageTool', 'format', '-t', options.clusterId, '-c', options.properties, ...(options.secrets ? scramFormatArguments(options.secrets) : [])];
    await writeFile(argumentFile, `${toolArguments.map(argumentFileLine).join('\n')}\n`, { mode: 0o600 });
    // A one-shot tool: the quick compiler and the small collector start it faster.
    await run(options.java.executable, ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...options.jvmOptions, `@${argumentFile}`], { timeout: 60_000 });
  } catch (error) {
    const output = error as { stdout?: string; stderr?: string };
    throw new InfraError('Formatting the Kafka storage failed.', 'Run `npm run infra -- reset` and start again.', `${output.stdout ?? ''}${output.stderr ?? ''}`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * The broker settings of a secured node: its one client listener speaks SASL_SSL only (SCRAM
 * users from the metadata, PLAIN users from the JAAS configuration); brokers talk to each other
 * on it with PLAIN, and controllers on their own SASL_SSL listener, also with PLAIN (SCRAM
 * credentials live in the metadata, which controllers cannot read before they log in).
 */
export function secureListenerProperties(secrets: KafkaSecrets, brokerPort: number, controllerPort: number): string[] {
  const { interBroker, client } = secrets;
  const plainUsers = `user_${interBroker.username}="${interBroker.password}" user_${client.username}="${client.password}"`;
  const plainLogin = (users: string) =>
    `org.apache.kafka.common.security.plain.PlainLoginModule required username="${interBroker.username}" password="${interBroker.password}" ${users};`;
  return [
    `listeners=SASL_SSL://127.0.0.1:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    `advertised.listeners=SASL_SSL://127.0.0.1:${brokerPort}`,
    'controller.listener.names=CONTROLLER',
    'listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:SASL_SSL',
    'inter.broker.listener.name=SASL_SSL',
    'sasl.enabled.mechanisms=SCRAM-SHA-512,SCRAM-SHA-256,PLAIN',
    'sasl.mechanism.inter.broker.protocol=PLAIN',
    'sasl.mechanism.controller.protocol=PLAIN',
    `listener.name.sasl_ssl.plain.sasl.jaas.config=${plainLogin(plainUsers)}`,
    'listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'listener.name.controller.sasl.enabled.mechanisms=PLAIN',
    `listener.name.controller.plain.sasl.jaas.config=${plainLogin(`user_${interBroker.username}="${interBroker.password}"`)}`,
    'ssl.keystore.type=PKCS12',
    `ssl.keystore.location=${secrets.keystore}`,
    `ssl.keystore.password=${secrets.storePassword}`,
    `ssl.key.password=${secrets.storePassword}`,
    'ssl.truststore.type=PKCS12',
    `ssl.truststore.location=${secrets.truststore}`,
    `ssl.truststore.password=${secrets.storePassword}`,
    // Clients prove who they are with SASL; a client certificate is not asked for.
    'ssl.client.auth=none',
  ];
}
