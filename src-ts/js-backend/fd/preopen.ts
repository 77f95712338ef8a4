// A preopened directory (fd 3 on): a Directory the guest finds by name with
// fd_prestat_get / fd_prestat_dir_name.
import type { Preopen } from '../fs.js';
import { Directory, type FsContext } from './dir.js';

export class PreopenDir extends Directory {
  constructor(pre: Preopen, ctx: FsContext) {
    super(pre, [], ctx);
  }

  override prestatName(): string {
    return this.pre.guest;
  }
}
