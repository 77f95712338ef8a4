// A preopened directory (fd 3 on): a Directory the guest finds by name with
// fd_prestat_get / fd_prestat_dir_name. Its root is opened on first use and
// held for the rest of the execute (one open per preopen, none for a guest
// that never touches files).
import type { Preopen } from '../fs.js';
import { Directory, type FsContext } from './dir.js';
import { HostDir } from './host-dir.js';

export class PreopenDir extends Directory {
  constructor(pre: Preopen, ctx: FsContext) {
    super(pre, [], ctx, undefined, true);
  }

  override prestatName(): string {
    return this.pre.guest;
  }

  /** The preopens are the execute's own, not the guest's: not counted against MAX_OPEN_FILES. */
  override get holdsHostFd(): boolean {
    return false;
  }

  protected override openHandle(): HostDir {
    return HostDir.openRoot(this.pre.root);
  }
}
