//! Builds the guest's WASI preview 1 view from the settings and the request
//! alone: args, env, stdin, capped stdout/stderr, preopens. Nothing of the
//! host's own environment leaks in, and there are no sockets.

use crate::error::{ErrorCode, SandboxError, SbResult};
use crate::output::CappedPipe;
use crate::settings::Settings;
use wasmtime_wasi::p1::WasiP1Ctx;
use wasmtime_wasi::p2::pipe::MemoryInputPipe;
use wasmtime_wasi::{FsPerms, WasiCtxBuilder};

pub struct GuestIo {
    pub stdout: CappedPipe,
    pub stderr: CappedPipe,
}

pub fn build_wasi(settings: &Settings, args: &[String], env: &[(String, String)], stdin: Vec<u8>) -> SbResult<(WasiP1Ctx, GuestIo)> {
    let stdout = CappedPipe::new(settings.max_output_bytes);
    let stderr = CappedPipe::new(settings.max_output_bytes);
    let mut b = WasiCtxBuilder::new();
    b.args(args)
        .envs(env)
        .stdin(MemoryInputPipe::new(stdin))
        .stdout(stdout.clone())
        .stderr(stderr.clone())
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false);
    let grants = settings
        .readonly_dirs
        .iter()
        .map(|d| (d, FsPerms::ReadOnly))
        .chain(settings.readwrite_dirs.iter().map(|d| (d, FsPerms::ReadWrite)));
    for (dir, perms) in grants {
        b.preopened_dir(&dir.host, &dir.guest, perms).map_err(|e| {
            SandboxError::new(
                ErrorCode::DirNotFound,
                format!("cannot open host directory {} for the guest: {e:#}", dir.host.display()),
            )
        })?;
    }
    Ok((b.build_p1(), GuestIo { stdout, stderr }))
}
