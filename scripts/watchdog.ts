/**
 * Loaded into every process `npm start` runs (`node --import .../watchdog.ts`): the process
 * stops when its supervisor is gone, however the supervisor ended (kill -9 included), so no
 * service ever outlives it. The supervisor holds the write end of the process's stdin and
 * never writes: the kernel closes it when the supervisor exits, and stdin reads end-of-file.
 * A change of parent (the supervisor's death re-parents its children) is checked too.
 * The process then gets SIGTERM, its own clean shutdown, and `graceMs` to finish it.
 */
const supervisor = Number(process.env.SUPERVISOR_PID);
const graceMs = 5_000;

if (Number.isInteger(supervisor) && supervisor > 0) {
  let gone = false;
  const supervisorGone = () => {
    if (gone) return;
    gone = true;
    process.kill(process.pid, 'SIGTERM');
    setTimeout(() => process.exit(1), graceMs).unref();
  };
  process.stdin.on('end', supervisorGone);
  process.stdin.on('close', supervisorGone);
  process.stdin.on('error', supervisorGone);
  process.stdin.resume();
  // Watching stdin must not keep a process alive that is done otherwise.
  (process.stdin as unknown as { unref?: () => void }).unref?.();
  setInterval(() => {
    if (process.ppid !== supervisor) supervisorGone();
  }, 1_000).unref();
}
