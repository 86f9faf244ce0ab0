/**
 * Shell completion scripts for bash, zsh and fish, written from the commander program itself so
 * they always name the commands and options this version has. Profile names are completed by
 * `kms-agent completion --profiles`, which reads the config (with the --config typed on the line).
 */
import type { Command } from 'commander';

/** What an option's value is, for completion: a profile name, a file, or something to type. */
type ValueKind = 'profile' | 'file' | 'text' | 'none';

interface OptionModel {
  short?: string;
  long: string;
  value: ValueKind;
  description: string;
}

export interface CompletionModel {
  global: OptionModel[];
  commands: Array<{ name: string; description: string; options: OptionModel[]; words: string[] }>;
}

/** The first clause of a help text: a completion menu has one short line per item. */
function brief(text: string): string {
  return text.split(/ \(|; |: (?=[a-z])/)[0]!.trim();
}

function optionModel(option: {
  long?: string;
  short?: string;
  required: boolean;
  optional: boolean;
  description: string;
}): OptionModel | undefined {
  if (!option.long) return undefined;
  const value: ValueKind =
    !option.required && !option.optional
      ? 'none'
      : option.long === '--profile'
        ? 'profile'
        : ['--config', '--socket'].includes(option.long)
          ? 'file'
          : 'text';
  return {
    ...(option.short ? { short: option.short } : {}),
    long: option.long,
    value,
    description: brief(option.description),
  };
}

const models = (options: readonly Parameters<typeof optionModel>[0][]): OptionModel[] =>
  options
    .filter((o) => !(o as { hidden?: boolean }).hidden)
    .map(optionModel)
    .filter((o): o is OptionModel => o !== undefined);

/** The commands, their options and fixed words (the shells of `completion`), from the program. */
export function completionModel(program: Command): CompletionModel {
  const help: OptionModel = {
    short: '-h',
    long: '--help',
    value: 'none',
    description: 'show help',
  };
  return {
    global: [...models(program.options), help],
    commands: program.commands.map((command) => ({
      name: command.name(),
      description: brief(command.description()),
      options: [...models(command.options), help],
      words: command.name() === 'completion' ? ['bash', 'zsh', 'fish'] : [],
    })),
  };
}

const flagsOf = (options: OptionModel[]): string[] =>
  options.flatMap((o) => (o.short ? [o.short, o.long] : [o.long]));
const withValue = (options: OptionModel[], kind: ValueKind): string[] => [
  ...new Set(flagsOf(options.filter((o) => o.value === kind))),
];

export function bashScript(model: CompletionModel): string {
  const all = [...model.global, ...model.commands.flatMap((c) => c.options)];
  const valued = [
    ...new Set([
      ...withValue(all, 'profile'),
      ...withValue(all, 'file'),
      ...withValue(all, 'text'),
    ]),
  ];
  const cases = model.commands.map(
    (c) => `    ${c.name}) words="${[...c.words, ...flagsOf(c.options)].join(' ')}" ;;`,
  );
  return `# kms-agent completion for bash: add  eval "$(kms-agent completion bash)"  to ~/.bashrc
_kms_agent() {
  local cur=\${COMP_WORDS[COMP_CWORD]} prev=\${COMP_WORDS[COMP_CWORD-1]} command= config= words i
  for ((i = 1; i < COMP_CWORD; i++)); do
    case \${COMP_WORDS[i]} in
      --config) config=\${COMP_WORDS[i+1]}; ((i++)) ;;
      ${valued.filter((f) => f !== '--config').join('|')}) ((i++)) ;;
      -*) ;;
      *) [[ -z $command ]] && command=\${COMP_WORDS[i]} ;;
    esac
  done
  case $prev in
    ${withValue(all, 'profile').join('|')})
      COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" \${config:+--config "$config"} completion --profiles 2>/dev/null)" -- "$cur"))
      return ;;
    ${withValue(all, 'file').join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return ;;
    ${withValue(all, 'text').join('|')}) return ;;
  esac
  case $command in
    '') words="${[...model.commands.map((c) => c.name), ...flagsOf(model.global)].join(' ')}" ;;
${cases.join('\n')}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _kms_agent kms-agent
`;
}

/** Single-quoted for zsh and fish, with the brackets _arguments reads escaped. */
const quoted = (text: string): string => `'${text.replace(/'/g, `'\\''`)}'`;
const zshDescription = (text: string): string =>
  text.replace(/[[\]]/g, '\\$&').replace(/'/g, `'\\''`);

function zshSpec(o: OptionModel): string {
  const action = {
    profile: ':profile:_kms_agent_profiles',
    file: ':file:_files',
    text: ':value: ',
    none: '',
  }[o.value];
  const names = o.short ? `'(${o.short} ${o.long})'{${o.short},${o.long}}` : `'${o.long}'`;
  return `${names}'[${zshDescription(o.description)}]${action}'`;
}

export function zshScript(model: CompletionModel): string {
  const cases = model.commands.map((c) => {
    const words = c.words.length ? ` '1:shell:(${c.words.join(' ')})'` : '';
    return `        ${c.name}) _arguments ${c.options.map(zshSpec).join(' ')}${words} ;;`;
  });
  return `#compdef kms-agent
# kms-agent completion for zsh: add  eval "$(kms-agent completion zsh)"  to ~/.zshrc (after compinit)
_kms_agent_profiles() {
  local -a profiles
  local config=\${opt_args[--config]}
  profiles=(\${(f)"$(\${_kms_agent_command} \${config:+--config "$config"} completion --profiles 2>/dev/null)"})
  compadd -a profiles
}
_kms_agent() {
  local _kms_agent_command=\${words[1]} state line
  local -A opt_args
  local -a commands
  commands=(
${model.commands.map((c) => `    ${quoted(`${c.name}:${c.description}`)}`).join('\n')}
  )
  _arguments -C ${model.global.map(zshSpec).join(' ')} '1:command:->command' '*::arg:->args'
  case $state in
    command) _describe command commands ;;
    args)
      case \${words[1]} in
${cases.join('\n')}
      esac ;;
  esac
}
if [[ "\${funcstack[1]}" == _kms_agent ]]; then _kms_agent "$@"; else compdef _kms_agent kms-agent; fi
`;
}

function fishOption(condition: string, o: OptionModel): string {
  const names = `${o.short ? `-s ${o.short.slice(1)} ` : ''}-l ${o.long.slice(2)}`;
  const value = {
    profile: " -x -a '(__kms_agent_profiles)'",
    file: ' -r -F',
    text: ' -x',
    none: '',
  }[o.value];
  return `complete -c kms-agent${condition} ${names}${value} -d ${quoted(o.description)}`;
}

export function fishScript(model: CompletionModel): string {
  const lines = [
    '# kms-agent completion for fish: kms-agent completion fish > ~/.config/fish/completions/kms-agent.fish',
    'function __kms_agent_profiles',
    '    set -l line (commandline -opc)',
    '    set -l config',
    '    set -l at (contains -i -- --config $line); and set config --config $line[(math $at + 1)]',
    '    $line[1] $config completion --profiles 2>/dev/null',
    'end',
    'complete -c kms-agent -f',
    ...model.global.map((o) => fishOption('', o)),
  ];
  for (const c of model.commands) {
    lines.push(
      `complete -c kms-agent -n __fish_use_subcommand -a ${c.name} -d ${quoted(c.description)}`,
    );
    const when = ` -n '__fish_seen_subcommand_from ${c.name}'`;
    if (c.words.length) lines.push(`complete -c kms-agent${when} -a ${quoted(c.words.join(' '))}`);
    lines.push(...c.options.map((o) => fishOption(when, o)));
  }
  return lines.join('\n') + '\n';
}
