// The execute's descriptor table: numbers to descriptors, the lowest free
// number from 3 up for new ones (0-2 are the standard streams even once
// closed), with a cap on host descriptors (files and directories) held open at once.
import { WasiError } from '../fs.js';
import { ERRNO } from '../wasi-defs.js';
import type { Descriptor } from './descriptor.js';

/** Host descriptors (files, directories but the preopens) one execute may hold open at once. */
export const MAX_OPEN_FILES = 1024;

export class FdTable {
  private readonly fds = new Map<number, Descriptor>();
  private hostFiles = 0;

  get(fd: number): Descriptor {
    const d = this.fds.get(fd >>> 0);
    if (!d) throw new WasiError(ERRNO.BADF);
    return d;
  }

  /** undefined for a number with no descriptor (poll reports it per event). */
  find(fd: number): Descriptor | undefined {
    return this.fds.get(fd >>> 0);
  }

  /** EMFILE once the execute holds MAX_OPEN_FILES host descriptors. */
  checkRoom(): void {
    if (this.hostFiles >= MAX_OPEN_FILES) throw new WasiError(ERRNO.MFILE);
  }

  add(d: Descriptor, lowest = 3): number {
    let fd = lowest;
    while (this.fds.has(fd)) fd++;
    this.put(fd, d);
    return fd;
  }

  close(fd: number): void {
    this.get(fd);
    this.drop(fd >>> 0);
  }

  renumber(from: number, to: number): void {
    const d = this.get(from);
    this.get(to);
    if ((from >>> 0) === (to >>> 0)) return;
    this.drop(to >>> 0);
    this.fds.delete(from >>> 0);
    this.fds.set(to >>> 0, d);
  }

  /** Closes every host descriptor the guest left open (workers are reused). */
  closeAll(): void {
    for (const d of this.fds.values()) d.close();
    this.fds.clear();
    this.hostFiles = 0;
  }

  private put(fd: number, d: Descriptor): void {
    this.fds.set(fd, d);
    if (d.holdsHostFd) this.hostFiles++;
  }

  private drop(fd: number): void {
    const d = this.fds.get(fd);
    if (!d) return;
    d.close();
    if (d.holdsHostFd) this.hostFiles--;
    this.fds.delete(fd);
  }
}
