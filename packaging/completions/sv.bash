# bash completion for sv (runit-rs): the command word, then service names from
# $SVDIR (default: /etc/service, or /var/service on Void; the installer fills it in).
# Commands: runit 2.1.2's sv commands and its LSB-style ones.

_sv_rs_svdir='@SVDIR@'

_sv_rs()
{
    local cur=${COMP_WORDS[COMP_CWORD]} i=1 dir
    # Skip options (-v, -w sec) before the command word.
    while [ "$i" -lt "$COMP_CWORD" ]; do
        case ${COMP_WORDS[i]} in
            -w) i=$((i + 2)) ;;
            -*) i=$((i + 1)) ;;
            *) break ;;
        esac
    done
    if [ "$COMP_CWORD" -le "$i" ]; then
        case $cur in
            -*) COMPREPLY=( $(compgen -W "-v -w" -- "$cur") ) ;;
            *) COMPREPLY=( $(compgen -W "status up down once pause cont hup alarm interrupt quit 1 2 term kill exit start stop reload restart shutdown force-stop force-reload force-restart force-shutdown try-restart check" -- "$cur") ) ;;
        esac
        return
    fi
    dir=${SVDIR:-$_sv_rs_svdir}
    COMPREPLY=( $(cd "$dir" 2>/dev/null && compgen -d -- "$cur") )
    # Paths work too: ./svc, /etc/sv/svc.
    case $cur in
        */*) COMPREPLY+=( $(compgen -d -- "$cur") ) ;;
    esac
}
complete -F _sv_rs sv
