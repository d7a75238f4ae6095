/**
 * For long-running tools: the first Ctrl-C (or SIGTERM) aborts the returned signal, so the tool
 * ends what it is doing and cleans up after itself; a second one leaves at once (exit 130).
 * `message` says what the first one does.
 */
export function abortOnFirstInterrupt(message: string): AbortSignal {
  const interrupted = new AbortController();
  const onSignal = () => {
    if (interrupted.signal.aborted) process.exit(130);
    console.log(message);
    interrupted.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return interrupted.signal;
}
