import { createRequire } from 'node:module'
import { Command, Option } from 'commander'
import { collect, nonNegativeInteger, positiveInteger } from './arguments.js'
import { CliContext, type GlobalOptions } from './cli-context.js'
import type { DlqListOptions } from './commands/dlq.js'
import type { EventsOptions } from './commands/events.js'
import type { ExitCode } from './exit-codes.js'
import type { Interruption } from './interruption.js'

const { version } = createRequire(import.meta.url)('../package.json') as { version: string }

/** Where a run's outcome goes: the exit code the finished command asked for. */
export interface ProgramRun {
  exitCode: ExitCode | undefined
}

type Action<A extends unknown[]> = (ctx: CliContext, ...args: A) => Promise<void>

const HANDLERS_HELP =
  'ES module whose default export maps projector names to handler arrays (or returns that map)'

/**
 * The `azothdb` command line: every command, its arguments and options. Each leaf command takes
 * `--json` and `--verbose`; its action gets a {@link CliContext} built from them. Commands are
 * imported when they run: `--help`, `--version` and usage errors never load the database's native
 * modules.
 */
export function buildProgram(run: ProgramRun, interruption: Interruption): Command {
  const program = new Command('azothdb')
    .description('Inspect, repair and back up an Azoth database, also while its application runs.')
    .version(version)
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()

  /** Adds the common options and turns an action into one that takes a context. */
  const leaf = <A extends unknown[]>(cmd: Command, action: Action<A>): Command =>
    cmd
      .option('--json', 'JSON output: one object, or JSON lines for rows')
      .option('--verbose', 'stack traces on errors and the database log')
      .action(async (...args: unknown[]) => {
        const command = args.at(-1) as Command
        const ctx = new CliContext(command.opts<GlobalOptions>(), interruption)
        await action(ctx, ...(args.slice(0, -1) as A))
        run.exitCode = ctx.exitCode
      })

  leaf(
    program
      .command('status')
      .description('format, head, keys, disk use, projectors, dead letters')
      .argument('<dir>'),
    async (ctx, dir: string) => (await import('./commands/status.js')).statusCommand(ctx, dir),
  )
  leaf(
    program
      .command('get')
      .description('one value, decoded')
      .argument('<dir>')
      .argument('<key>')
      .option('--hex', 'the key is hex bytes'),
    async (ctx, dir: string, key: string, opts: { hex?: boolean }) =>
      (await import('./commands/get.js')).getCommand(ctx, dir, key, opts),
  )
  leaf(
    program
      .command('scan')
      .description('entries in key order')
      .argument('<dir>')
      .option('--prefix <prefix>', 'only keys starting with it', '')
      .option('--hex', 'the prefix is hex bytes')
      .option('--limit <n>', 'at most n entries', positiveInteger, 100),
    async (ctx, dir: string, opts: { prefix?: string; hex?: boolean; limit: number }) =>
      (await import('./commands/scan.js')).scanCommand(ctx, dir, opts),
  )
  leaf(
    program
      .command('events')
      .description('the event log; --follow tails new events until Ctrl-C')
      .argument('<dir>')
      .option(
        '--from <id>',
        'first event id (default 1, or the next new event with --follow)',
        positiveInteger,
      )
      .option('--to <id>', 'last event id', nonNegativeInteger)
      .option('--type <type>', 'only events of this type (repeatable)', collect, [])
      .option('--stream <name>', 'only events of this stream')
      .option('--limit <n>', 'at most n events', positiveInteger)
      .option('--follow', 'keep printing new events as they commit'),
    async (ctx, dir: string, opts: EventsOptions) =>
      (await import('./commands/events.js')).eventsCommand(ctx, dir, opts),
  )
  leaf(
    program
      .command('query')
      .description('read-only SQL on the projection')
      .argument('<dir>')
      .argument('<sql>'),
    async (ctx, dir: string, sql: string) =>
      (await import('./commands/query.js')).queryCommand(ctx, dir, sql),
  )

  const projector = program.command('projector').description('projectors: list, run, rebuild')
  leaf(
    projector
      .command('list')
      .description("each projector's cursor, lag and dead letters")
      .argument('<dir>')
      .option('--name <name>', 'only this projector'),
    async (ctx, dir: string, opts: { name?: string }) =>
      (await import('./commands/projector.js')).projectorListCommand(ctx, dir, opts),
  )
  for (const mode of ['run', 'rebuild'] as const) {
    leaf(
      projector
        .command(mode)
        .description(
          mode === 'run'
            ? 'apply pending events with the handlers of a module'
            : 'reset the projection and replay every event',
        )
        .argument('<dir>')
        .requiredOption('--handlers <module>', HANDLERS_HELP)
        .option('--name <name>', 'only this projector (default: every one the module defines)'),
      async (ctx, dir: string, opts: { handlers: string; name?: string }) =>
        (await import('./commands/projector.js')).projectorRunCommand(ctx, dir, opts, mode),
    )
  }

  const dlq = program.command('dlq').description('the dead-letter queue: list, show, retry, remove')
  leaf(
    dlq
      .command('list')
      .description('parked events, oldest first')
      .argument('<dir>')
      .option('--projector <name>', 'only this projector')
      .addOption(
        new Option('--status <status>', 'only this status').choices(['pending', 'retrying', 'permanent']),
      )
      .option('--limit <n>', 'at most n rows', positiveInteger, 100),
    async (ctx, dir: string, opts: DlqListOptions) =>
      (await import('./commands/dlq.js')).dlqListCommand(ctx, dir, opts),
  )
  leaf(
    dlq
      .command('show')
      .description('one dead letter and its event')
      .argument('<dir>')
      .argument('<id>', 'row id', positiveInteger),
    async (ctx, dir: string, id: number) => (await import('./commands/dlq.js')).dlqShowCommand(ctx, dir, id),
  )
  leaf(
    dlq
      .command('retry')
      .description("re-apply the event through its projector's handlers")
      .argument('<dir>')
      .argument('<id>', 'row id', positiveInteger)
      .requiredOption('--handlers <module>', HANDLERS_HELP),
    async (ctx, dir: string, id: number, opts: { handlers: string }) =>
      (await import('./commands/dlq.js')).dlqRetryCommand(ctx, dir, id, opts),
  )
  leaf(
    dlq
      .command('remove')
      .description('delete a dead letter')
      .argument('<dir>')
      .argument('<id>', 'row id', positiveInteger),
    async (ctx, dir: string, id: number) =>
      (await import('./commands/dlq.js')).dlqRemoveCommand(ctx, dir, id),
  )

  leaf(
    program
      .command('verify')
      .description('checksums, ids, cursors and dead letters (or a backup with --backup); exit 1 on damage')
      .argument('<dir>')
      .option('--backup', '<dir> is a backup: check its manifest and every file'),
    async (ctx, dir: string, opts: { backup?: boolean }) =>
      (await import('./commands/verify.js')).verifyCommand(ctx, dir, opts),
  )
  leaf(
    program
      .command('backup')
      .description('a verified backup into an empty directory')
      .argument('<dir>')
      .argument('<out>'),
    async (ctx, dir: string, out: string) =>
      (await import('./commands/backup.js')).backupCommand(ctx, dir, out),
  )
  leaf(
    program
      .command('restore')
      .description('verify a backup and restore it')
      .argument('<backup>')
      .argument('<target>')
      .option('--replace', 'replace the database in a non-empty target'),
    async (ctx, backup: string, target: string, opts: { replace?: boolean }) =>
      (await import('./commands/restore.js')).restoreCommand(ctx, backup, target, opts),
  )
  return program
}
