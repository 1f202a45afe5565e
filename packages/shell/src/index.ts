/**
 * @packageDocumentation
 *
 * natkit-peer's shell: the command language (`parseCommand`, pure, with
 * `help` text and tab completion) and the loop that reads it from a terminal
 * or, one command per line, from a pipe (`runShell`). The app executes the
 * commands and reports their results as events.
 */
export { parseCommand, helpText, complete, usage, CommandError, COMMANDS, COMMAND_NAMES, MAX_COMMAND_LINE_LENGTH, MAX_TOPIC_LENGTH, type ShellCommand, type CommandName, type CompletionSource } from './commands.js'
export { runShell, ShellOutput, DEFAULT_HISTORY_SIZE, DEFAULT_PROMPT, MAX_BACKGROUND_COMMANDS, type ShellInit, type LinePrinter } from './shell.js'
