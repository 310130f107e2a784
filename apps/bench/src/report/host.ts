import { execFileSync } from 'node:child_process'
import { readFileSync, realpathSync } from 'node:fs'
import { release } from 'node:os'
import { basename, dirname, join } from 'node:path'
import type { DiskInfo, HostOs } from '../bench-report.js'

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined // the file is optional: absent on this OS or in this container
  }
}

/** The OS name from `/etc/os-release` (the platform when unreadable) and the kernel release. */
export function hostOs(): HostOs {
  const osRelease = readText('/etc/os-release') ?? ''
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1]
  return { name: pretty ?? process.platform, kernel: release() }
}

/** Parses the data line of `df -PT <dir>`: device, type, ..., mount point. */
export function parseDf(output: string): Pick<DiskInfo, 'device' | 'fsType' | 'mountPoint'> {
  const line = output.trim().split('\n')[1]
  if (line === undefined) return {}
  const fields = line.trim().split(/\s+/)
  if (fields.length < 7) return {}
  return { device: fields[0]!, fsType: fields[1]!, mountPoint: fields.slice(6).join(' ') }
}

/** The mount whose point is the longest prefix of `dir`, from `/proc/mounts` (when `df` is missing). */
function fromProcMounts(dir: string): Pick<DiskInfo, 'device' | 'fsType' | 'mountPoint'> {
  let best: { device: string; fsType: string; mountPoint: string } | undefined
  for (const line of (readText('/proc/mounts') ?? '').split('\n')) {
    const [device, mountPoint, fsType] = line.split(' ')
    if (device === undefined || mountPoint === undefined || fsType === undefined) continue
    const inside =
      dir === mountPoint || dir.startsWith(mountPoint.endsWith('/') ? mountPoint : `${mountPoint}/`)
    if (inside && (best === undefined || mountPoint.length > best.mountPoint.length)) {
      best = { device, fsType, mountPoint }
    }
  }
  return best ?? {}
}

/**
 * `rotational` of the block device behind `device` (`/dev/vda1` → its disk `vda`), read from
 * `/sys/class/block`; undefined when there is no block device (tmpfs, overlay, a network share).
 */
function rotational(device: string | undefined): boolean | undefined {
  if (device === undefined || !device.startsWith('/dev/')) return undefined
  let sysPath: string
  try {
    sysPath = realpathSync(join('/sys/class/block', basename(realpathSync(device))))
  } catch {
    return undefined // no such device node or sysfs entry: say nothing rather than guess
  }
  // A partition has no queue of its own; its disk is the parent directory.
  for (const candidate of [sysPath, dirname(sysPath)]) {
    const flag = readText(join(candidate, 'queue', 'rotational'))?.trim()
    if (flag === '0' || flag === '1') return flag === '1'
  }
  return undefined
}

/** Describes the filesystem and disk holding `dir`. */
export function diskInfo(dir: string): DiskInfo {
  let mount: Pick<DiskInfo, 'device' | 'fsType' | 'mountPoint'>
  try {
    mount = parseDf(
      execFileSync('df', ['-PT', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }),
    )
  } catch {
    mount = {} // df missing or failing: /proc/mounts below
  }
  if (mount.device === undefined) mount = fromProcMounts(realpathSync(dir))
  const info: DiskInfo = { path: dir, ...mount }
  const isRotational = rotational(mount.device)
  if (isRotational !== undefined) info.rotational = isRotational
  return info
}
