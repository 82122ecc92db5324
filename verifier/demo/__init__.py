"""`toolgate demo`: the March 2026 Trivy incident replayed offline against a real daemon.

`scenario` is the timeline as data; `world` applies it to the loopback upstreams (`upstream`:
a fake GitHub, `feeds`: advisory feeds) signed by the demo's own Sigstore (`authority`);
`stack` starts them with a mail sink (`mailbox`) and `toolgate serve` (`daemon`); `replay` plays
the timeline through the API (`client`) and judges it (`results`). The end-to-end tests reuse
these parts.
"""
