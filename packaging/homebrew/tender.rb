# Homebrew formula for tender: builds the CLI and tender-net (the switch of
# tender networks) from source and installs the CLI's
# shell completions and its man page. `tender init` downloads the guest image (the ISO) on
# first use into ~/.tender/cache.
#
# This is the template: `make release` writes out/release/tender.rb with url
# and sha256 set to the release's source archive (scripts/formula.sh), for
# the tap tenderdev/homebrew-tender.
class Tender < Formula
  desc "Docker engine in a lightweight Linux VM, boot2docker's successor"
  homepage "https://github.com/tenderdev/tender"
  url "https://github.com/tenderdev/tender/archive/refs/tags/v0.1.0.tar.gz"
  sha256 "0000000000000000000000000000000000000000000000000000000000000000"
  head "https://github.com/tenderdev/tender.git", branch: "main"

  depends_on "go" => :build
  depends_on "qemu"

  def install
    ldflags = %W[
      -s -w
      -X main.version=#{version}
      -X main.commit=#{build.head? ? Utils.git_short_head(length: 12) : "v#{version}"}
      -X main.date=#{time.iso8601}
    ]
    system "go", "build", *std_go_args(ldflags:, tags: "urfave_cli_no_docs")
    # A tender network's switch, beside tender, where tender looks for it.
    system "go", "build", *std_go_args(ldflags:, output: bin/"tender-net"), "./cmd/tender-net"
    generate_completions_from_executable(bin/"tender", "completion")
    man1.install "docs/tender.1"
  end

  # On Apple Silicon the VM is arm64: tender's default arch is the host's, so
  # `tender init` fetches tender-arm64.iso and QEMU runs it with HVF. An
  # amd64 guest there (--arch amd64) would be emulated, far too slowly.
  def caveats
    <<~EOS
      Create and start the Docker VM, then point docker at it:
        tender init
        tender up --activate      # or: eval "$(tender shellinit)"
      On Apple Silicon the VM runs the arm64 image (tender-arm64.iso) with HVF.
    EOS
  end

  test do
    assert_match "tender #{version}", shell_output("#{bin}/tender version")
    assert_match "tender-net #{version}", shell_output("#{bin}/tender-net --version")
    assert_match "complete -o default -F _tender tender", shell_output("#{bin}/tender completion bash")
    assert_match "not-created", shell_output("TENDER_HOME=#{testpath} #{bin}/tender status", 5)
  end
end
