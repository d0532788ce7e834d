# bash completion for allocheck: commands, each command's options and allocator SPECs.
# Everything is read from the tool itself (`allocheck --help`, `allocheck CMD --help`), so the
# completion cannot fall behind the options it completes. Leaves out: completing values that
# need the allocator loaded (check ids for --only/--skip).

# The commands, from the "Commands:" block of the top-level help.
_allocheck_commands()
{
    "$1" --help 2>/dev/null | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit }
                                  on { print $1 }'
}

# The long options of a command (or of the tool without one).
_allocheck_options()
{
    "$1" ${2:+"$2"} --help 2>/dev/null |
        grep -oE -- '--[a-z][a-z0-9-]*=?' | sort -u
}

# The SPEC shorthands, from the help's "Allocator SPECs:" paragraph: its lower-case words.
_allocheck_specs()
{
    "$1" --help 2>/dev/null | awk '/^Allocator SPECs:/ { on = 1 } on && /^$/ { exit } on' |
        grep -oE '(^|[ ,:])[a-z]+(,|;|$)' | tr -d ' ,;:' | grep -vx 'any\|with\|specs' | sort -u
}

_allocheck()
{
    local cur prev words cword
    _init_completion -n = || return
    local tool=${words[0]} cmd= i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        -*) ;;
        *) cmd=${words[i]}; break ;;
        esac
    done
    case $prev in
    -a | --allocator)
        COMPREPLY=($(compgen -W "$(_allocheck_specs "$tool") preload:" -- "$cur"))
        [[ $cur == */* || $cur == .* ]] && _filedir so
        compopt -o nospace 2>/dev/null
        [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} != *: ]] && compopt +o nospace 2>/dev/null
        return ;;
    -o | --output | --out)
        _filedir
        return ;;
    -f | --format)
        COMPREPLY=($(compgen -W "human tap junit json markdown" -- "$cur"))
        return ;;
    -p | --profile)
        COMPREPLY=($(compgen -W "posix2024 c17 c11 c23" -- "$cur"))
        return ;;
    esac
    if [[ $cur == --*=* ]]; then
        case ${cur%%=*} in
        --allocator) cur=${cur#*=}; COMPREPLY=($(compgen -W "$(_allocheck_specs "$tool")" -- "$cur")) ;;
        --format) cur=${cur#*=}; COMPREPLY=($(compgen -W "human tap junit json markdown" -- "$cur")) ;;
        --profile) cur=${cur#*=}; COMPREPLY=($(compgen -W "posix2024 c17 c11 c23" -- "$cur")) ;;
        --check) cur=${cur#*=}; COMPREPLY=($(compgen -W "full sampled none" -- "$cur")) ;;
        --sizes) cur=${cur#*=}; COMPREPLY=($(compgen -W "realistic stress" -- "$cur")) ;;
        *) _filedir ;;
        esac
        return
    fi
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$(_allocheck_options "$tool")" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$(_allocheck_commands "$tool")" -- "$cur"))
        fi
    elif [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$(_allocheck_options "$tool" "$cmd")" -- "$cur"))
    else
        _filedir
    fi
    [[ ${COMPREPLY-} == *= ]] && compopt -o nospace 2>/dev/null
}
complete -F _allocheck allocheck
