import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, found from this file so the CLI works from any working directory. */
export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Everything the local infrastructure writes lives under one git-ignored folder:
 * extracted servers, their data, logs and pid files. `INFRA_HOME` moves it.
 */
export const localHome = path.resolve(process.env.INFRA_HOME ?? path.join(repositoryRoot, '.local'));

export const localPaths = {
  home: localHome,
  servers: path.join(localHome, 'servers'),
  downloads: path.join(localHome, 'downloads'),
  logs: path.join(localHome, 'logs'),
  run: path.join(localHome, 'run'),
  data: (server: string) => path.join(localHome, 'data', server),
  config: (server: string) => path.join(localHome, 'config', server),
  log: (server: string) => path.join(localHome, 'logs', `${server}.log`),
  pidFile: (server: string) => path.join(localHome, 'run', `${server}.pid`),
};

export const mavenProjects = {
  kafka: path.join(repositoryRoot, 'infra', 'maven', 'kafka', 'pom.xml'),
};
