import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Describe the machine: the facts a reader needs to compare a run with their own. */
export function describeMachine() {
  const cpus = os.cpus();
  return {
    cpuModel: cpuModel() ?? cpus[0]?.model ?? 'unknown',
    logicalCores: cpus.length,
    availableCores: os.availableParallelism(),
    memoryGiB: os.totalmem() / 1024 ** 3,
    loadAverageAtStart: os.loadavg()[0],
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

// Some virtual machines shorten the model in os.cpus(), and /proc/cpuinfo may contain the full name.
function cpuModel() {
  try {
    const line = readFileSync('/proc/cpuinfo', 'utf8')
      .split('\n')
      .find((entry) => entry.startsWith('model name'));
    return line?.split(':')[1]?.trim();
  } catch {
    return undefined;
  }
}

/** Resident set size of a process in bytes, from /proc (Linux only). */
export function residentBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(status);
  if (!match) throw new Error(`VmRSS missing from /proc/${pid}/status`);
  return Number(match[1]) * 1024;
}

// USER_HZ, the unit of utime and stime in /proc/<pid>/stat, is 100 on every Linux architecture Node supports.
const CLOCK_TICKS_PER_SECOND = 100;

/** CPU time a process has used so far, user plus system, in seconds, from /proc (Linux only). */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name in brackets may contain spaces, so count fields after its closing bracket.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / CLOCK_TICKS_PER_SECOND;
}
