/**
 * A failure the user can fix: `message` says what went wrong in one line, `fix` says what to
 * do about it. The CLI prints both without a stack trace.
 */
export class InfraError extends Error {
  constructor(
    message: string,
    readonly fix?: string,
    readonly details?: string,
  ) {
    super(message);
    this.name = 'InfraError';
  }
}
