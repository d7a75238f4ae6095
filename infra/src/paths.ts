import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The repository root, found from this file so the CLI works from any working directory. */
export const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Everything the local infrastructure writes lives under one git-ignored folder:
 * extracted servers, their data, logs and pid files. `INFRA_HOME` moves it.
 */
export const localHome = path.resolve(process.env.INFRA_HOME ?? path.join(repositoryRoot, '.local'));

export interface InfraPaths {
  home: string;
  logs: string;
  run: string;
  data: (server: string) => string;
  config: (server: string) => string;
  log: (server: string) => string;
  pidFile: (server: string) => string;
}

/** The folders of servers run under `home`: the local infrastructure's, or a test's private cluster's. */
export function infraPaths(home: string): InfraPaths {
  return {
    home,
    logs: path.join(home, 'logs'),
    run: path.join(home, 'run'),
    data: (server: string) => path.join(home, 'data', server),
    config: (server: string) => path.join(home, 'config', server),
    log: (server: string) => path.join(home, 'logs', `${server}.log`),
    pidFile: (server: string) => path.join(home, 'run', `${server}.pid`),
  };
}

export const localPaths = {
  ...infraPaths(localHome),
  servers: path.join(localHome, 'servers'),
  downloads: path.join(localHome, 'downloads'),
};

export const mavenProjects = {
  kafka: path.join(repositoryRoot, 'infra', 'maven', 'kafka', 'pom.xml'),
};
