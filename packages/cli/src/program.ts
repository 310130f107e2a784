import { createRequire } from 'node:module'
import { Command, Option } from 'commander'
import { collect, nonNegativeInteger, positiveInteger } from './arguments.js'
import { CliContext, type GlobalOptions } from './cli-context.js'
import { backupCommand } from './commands/backup.js'
import { dlqListCommand, dlqRemoveCommand, dlqRetryCommand, dlqShowCommand } from './commands/dlq.js'
import { eventsCommand } from './commands/events.js'
import { getCommand } from './commands/get.js'
import { projectorListCommand, projectorRunCommand } from './commands/projector.js'
import { queryCommand } from './commands/query.js'
import { restoreCommand } from './commands/restore.js'
import { scanCommand } from './commands/scan.js'
import { statusCommand } from './commands/status.js'
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
 * `--json` and `--verbose`; its action gets a {@link CliContext} built from them.
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
    (ctx, dir: string) => statusCommand(ctx, dir),
  )
  leaf(
    program
      .command('get')
      .description('one value, decoded')
      .argument('<dir>')
      .argument('<key>')
      .option('--hex', 'the key is hex bytes'),
    (ctx, dir: string, key: string, opts: { hex?: boolean }) => getCommand(ctx, dir, key, opts),
  )
  leaf(
    program
      .command('scan')
      .description('entries in key order')
      .argument('<dir>')
      .option('--prefix <prefix>', 'only keys starting with it', '')
      .option('--hex', 'the prefix is hex bytes')
      .option('--limit <n>', 'at most n entries', positiveInteger, 100),
    (ctx, dir: string, opts: { prefix?: string; hex?: boolean; limit: number }) =>
      scanCommand(ctx, dir, opts),
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
    (ctx, dir: string, opts: Parameters<typeof eventsCommand>[2]) => eventsCommand(ctx, dir, opts),
  )
  leaf(
    program
      .command('query')
      .description('read-only SQL on the projection')
      .argument('<dir>')
      .argument('<sql>'),
    (ctx, dir: string, sql: string) => queryCommand(ctx, dir, sql),
  )

  const projector = program.command('projector').description('projectors: list, run, rebuild')
  leaf(
    projector
      .command('list')
      .description("each projector's cursor, lag and dead letters")
      .argument('<dir>')
      .option('--name <name>', 'only this projector'),
    (ctx, dir: string, opts: { name?: string }) => projectorListCommand(ctx, dir, opts),
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
      (ctx, dir: string, opts: { handlers: string; name?: string }) =>
        projectorRunCommand(ctx, dir, opts, mode),
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
    (ctx, dir: string, opts: Parameters<typeof dlqListCommand>[2]) => dlqListCommand(ctx, dir, opts),
  )
  leaf(
    dlq
      .command('show')
      .description('one dead letter and its event')
      .argument('<dir>')
      .argument('<id>', 'row id', positiveInteger),
    (ctx, dir: string, id: number) => dlqShowCommand(ctx, dir, id),
  )
  leaf(
    dlq
      .command('retry')
      .description("re-apply the event through its projector's handlers")
      .argument('<dir>')
      .argument('<id>', 'row id', positiveInteger)
      .requiredOption('--handlers <module>', HANDLERS_HELP),
    (ctx, dir: string, id: number, opts: { handlers: string }) => dlqRetryCommand(ctx, dir, id, opts),
  )
  leaf(
    dlq
      .command('remove')
      .description('delete a dead letter')
      .argument('<dir>')
      .argument('<id>', 'row id', positiveInteger),
    (ctx, dir: string, id: number) => dlqRemoveCommand(ctx, dir, id),
  )

  leaf(
    program
      .command('backup')
      .description('a verified backup into an empty directory')
      .argument('<dir>')
      .argument('<out>'),
    (ctx, dir: string, out: string) => backupCommand(ctx, dir, out),
  )
  leaf(
    program
      .command('restore')
      .description('verify a backup and restore it')
      .argument('<backup>')
      .argument('<target>')
      .option('--replace', 'replace the database in a non-empty target'),
    (ctx, backup: string, target: string, opts: { replace?: boolean }) =>
      restoreCommand(ctx, backup, target, opts),
  )
  return program
}
