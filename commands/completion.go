package commands

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/tenderdev/tender/config"
	"github.com/tenderdev/tender/machine"
	"github.com/tenderdev/tender/shellinit"
)

// completionShells are the shells `tender completion` writes scripts for.
var completionShells = []string{"bash", "zsh", "fish", "powershell"}

func completionCommand(env *Env) *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print the shell completion script for bash, zsh, fish or powershell",
		ArgsUsage: "SHELL",
		Description: `Prints a script that completes tender's commands, flags and machine names.
Load it from your shell's profile:

   source <(tender completion bash)                                # ~/.bashrc
   source <(tender completion zsh)                                 # ~/.zshrc, after compinit
   tender completion fish > ~/.config/fish/completions/tender.fish
   tender completion powershell | Out-String | Invoke-Expression   # $PROFILE

Homebrew installs them for bash, zsh and fish.`,
		Action: func(c *cli.Context) error {
			if c.Args().Len() != 1 {
				return fmt.Errorf("name one shell: tender completion %s", strings.Join(completionShells, "|"))
			}
			script, ok := completionScripts[c.Args().First()]
			if !ok {
				return fmt.Errorf("no completion for shell %q: use one of %s", c.Args().First(), strings.Join(completionShells, ", "))
			}
			_, err := fmt.Fprint(env.Stdout, script)
			return err
		},
	}
}

// The scripts ask tender itself what fits: `TENDER_COMPLETE_WORD=CURRENT
// tender WORDS... --generate-bash-completion` (urfave/cli's protocol) prints
// one candidate a line, WORDS being the words before the one being typed.
// The word being typed travels in the environment because urfave/cli would
// take it for a command or give up on a "--". After a "--" (ssh's command)
// the scripts complete files only, since urfave/cli would run the command.
var completionScripts = map[string]string{
	"bash": `# bash completion for tender. Load it with: source <(tender completion bash)
_tender() {
	local cur=${COMP_WORDS[COMP_CWORD]} w
	for w in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
		[[ $w == -- ]] && return 0
	done
	local IFS=$'\n'
	COMPREPLY=($(TENDER_COMPLETE_WORD=$cur "${COMP_WORDS[0]}" "${COMP_WORDS[@]:1:COMP_CWORD-1}" --generate-bash-completion 2>/dev/null))
	return 0
}
complete -o default -F _tender tender
`,
	"zsh": `#compdef tender
# zsh completion for tender. Load it with: source <(tender completion zsh)
# (after compinit), or save it as _tender in a directory of $fpath.
_tender() {
	local -a args opts
	local w
	args=("${(@)words[2,CURRENT-1]}")
	for w in "${args[@]}"; do
		[[ $w == -- ]] && { _files; return }
	done
	opts=("${(@f)$(TENDER_COMPLETE_WORD=${words[CURRENT]} "${words[1]}" "${args[@]}" --generate-bash-completion 2>/dev/null)}")
	if [[ -n ${opts[1]} ]]; then
		compadd -- "${opts[@]}"
	else
		_files
	fi
}
if [[ $funcstack[1] == _tender ]]; then
	_tender "$@"
else
	compdef _tender tender
fi
`,
	"fish": `# fish completion for tender. Load it with: tender completion fish | source
# or save it as ~/.config/fish/completions/tender.fish
function __tender_complete
	set -l words (commandline -opc)
	set -l cur (commandline -ct)
	if contains -- -- $words
		__fish_complete_path "$cur"
		return
	end
	set -l cmd $words[1]
	set -e words[1]
	set -l out (env TENDER_COMPLETE_WORD="$cur" $cmd $words --generate-bash-completion 2>/dev/null)
	if test (count $out) -gt 0
		printf '%s\n' $out
	else
		__fish_complete_path "$cur"
	end
end
complete -c tender -f -a '(__tender_complete)'
`,
	"powershell": `# PowerShell completion for tender. Load it with:
#   tender completion powershell | Out-String | Invoke-Expression
Register-ArgumentCompleter -Native -CommandName tender, tender.exe -ScriptBlock {
	param($wordToComplete, $commandAst, $cursorPosition)
	$words = @($commandAst.CommandElements |
		Where-Object { $_.Extent.EndOffset -lt $cursorPosition -or ($_.Extent.EndOffset -eq $cursorPosition -and $wordToComplete -eq '') } |
		ForEach-Object { $_.ToString() })
	if ($words -contains '--') { return }
	$program = $words[0]
	$rest = @()
	if ($words.Count -gt 1) { $rest = $words[1..($words.Count - 1)] }
	$env:TENDER_COMPLETE_WORD = $wordToComplete
	try {
		& $program @rest --generate-bash-completion 2>$null | ForEach-Object {
			[System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
		}
	} finally {
		Remove-Item Env:TENDER_COMPLETE_WORD -ErrorAction SilentlyContinue
	}
}
`,
}

// setCompletion makes the app and every command answer
// --generate-bash-completion with what fits the word being typed.
func setCompletion(app *cli.App, env *Env) {
	app.BashComplete = func(c *cli.Context) { env.complete(app, nil) }
	for _, cmd := range app.Commands {
		cmd.BashComplete = func(c *cli.Context) { env.complete(app, cmd) }
	}
}

// formatNames are the named --format values of each command.
var formatNames = map[string][]string{
	"ls": {"table", "json"}, "config": {"yaml", "json"}, "info": {"json"}, "status": {"json"},
}

// complete prints the candidates for the word being typed
// ($TENDER_COMPLETE_WORD), env.Args being `tender WORDS...
// --generate-bash-completion`. cmd is nil at the top level.
func (env *Env) complete(app *cli.App, cmd *cli.Command) {
	words := slices.Clone(env.Args)
	if len(words) > 0 {
		words = words[1:]
	}
	if n := len(words); n > 0 && words[n-1] == "--generate-bash-completion" {
		words = words[:n-1]
	}
	cur := env.Getenv("TENDER_COMPLETE_WORD")
	var prev string
	if n := len(words); n > 0 {
		prev = words[n-1]
	}
	flags := app.Flags
	if cmd != nil {
		flags = cmd.Flags
	}
	var cands []string
	if values, ok := env.flagValues(app, cmd, prev); ok {
		cands = values
	} else if strings.HasPrefix(cur, "-") {
		for _, f := range flags {
			if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
				continue
			}
			for _, n := range f.Names() {
				if len(n) == 1 {
					cands = append(cands, "-"+n)
				} else {
					cands = append(cands, "--"+n)
				}
			}
		}
	} else if cmd == nil {
		for _, c := range app.Commands {
			if !c.Hidden {
				cands = append(cands, c.Name)
			}
		}
	} else if positionals(cmd, words) == 0 {
		switch {
		case cmd.Name == "completion":
			cands = completionShells
		case strings.HasPrefix(cmd.ArgsUsage, "[NAME]"):
			cands = env.machineNames()
		}
	}
	for _, c := range cands {
		if strings.HasPrefix(c, cur) {
			fmt.Fprintln(env.Stdout, c)
		}
	}
}

// flagValues lists the values of the flag named by word, when it takes one
// of a known few (ok is true for any flag that takes a value, so that a
// path or a size gets the shell's default completion).
func (env *Env) flagValues(app *cli.App, cmd *cli.Command, word string) ([]string, bool) {
	if !strings.HasPrefix(word, "-") {
		return nil, false
	}
	name := strings.TrimLeft(word, "-")
	flags := app.Flags
	if cmd != nil {
		flags = append(slices.Clone(cmd.Flags), app.Flags...)
	}
	for _, f := range flags {
		if !slices.Contains(f.Names(), name) {
			continue
		}
		if _, isBool := f.(*cli.BoolFlag); isBool {
			return nil, false
		}
		switch f.Names()[0] {
		case "vm":
			return env.machineNames(), true
		case "driver":
			return config.Drivers, true
		case "shell":
			var shells []string
			for _, s := range shellinit.Shells() {
				shells = append(shells, string(s))
			}
			return shells, true
		case "format":
			if cmd != nil {
				return formatNames[cmd.Name], true
			}
		}
		return nil, true
	}
	return nil, false
}

// positionals counts the arguments given to cmd before the word being
// typed.
func positionals(cmd *cli.Command, words []string) int {
	at := slices.IndexFunc(words, func(w string) bool { return w == cmd.Name || slices.Contains(cmd.Aliases, w) })
	if at < 0 {
		return 0
	}
	n := 0
	given := words[at+1:]
	for i, w := range given {
		if strings.HasPrefix(w, "-") {
			continue
		}
		if i > 0 && takesValue(cmd, given[i-1]) {
			continue
		}
		n++
	}
	return n
}

func takesValue(cmd *cli.Command, word string) bool {
	return strings.HasPrefix(word, "-") && flagTakesValue(cmd.Flags, word)
}

// machineNames lists the machines for completion; it reads directory
// names only.
func (env *Env) machineNames() []string {
	home, err := Home(env.Getenv)
	if err != nil {
		return nil
	}
	names, _ := (&machine.Store{Home: home}).List()
	return names
}
