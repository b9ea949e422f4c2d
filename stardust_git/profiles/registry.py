"""The one registry of rule functions: check name -> :class:`RuleKind`.

Adding a kind of rule is one function in a rules_*.py module and one entry here; a profile
file names the entry in ``check:`` and gives its parameters in ``params:``.
"""

from __future__ import annotations

from stardust_git.profiles import (
    rules_artwork,
    rules_audio,
    rules_deals,
    rules_ern,
    rules_measured,
    rules_text,
)
from stardust_git.profiles.base import NoParams, RuleKind


def _kind(run: object, params: object, reads_assets: bool = False) -> RuleKind:
    summary = " ".join((getattr(run, "__doc__", "") or "").split("\n\n")[0].split())
    return RuleKind(run, params, summary, reads_assets)  # type: ignore[arg-type]


RULE_KINDS: dict[str, RuleKind] = {
    "target_format": _kind(rules_ern.target_format, rules_ern.FormatParams),
    "ern_versions": _kind(rules_ern.ern_versions, rules_ern.VersionParams),
    "release_profiles": _kind(rules_ern.release_profiles, rules_ern.ReleaseProfileParams),
    "deal_territories": _kind(rules_deals.deal_territories, rules_deals.TerritoryParams),
    "deal_commercial_models": _kind(rules_deals.deal_commercial_models, rules_deals.ValuesParams),
    "deal_use_types": _kind(rules_deals.deal_use_types, rules_deals.ValuesParams),
    "deal_requires": _kind(rules_deals.deal_requires, rules_deals.RequiredParams),
    "no_end_dates": _kind(rules_deals.no_end_dates, NoParams),
    "end_date_margin": _kind(rules_deals.end_date_margin, rules_deals.MarginParams),
    "title_markers": _kind(rules_text.title_markers, rules_text.MarkerParams),
    "title_all_caps": _kind(rules_text.title_all_caps, rules_text.CapsParams),
    "generic_titles": _kind(rules_text.generic_titles, rules_text.GenericTitleParams),
    "various_artists": _kind(rules_text.various_artists, rules_text.VariousParams),
    "track_duration": _kind(rules_audio.track_duration, rules_audio.DurationParams),
    "artwork_size": _kind(rules_artwork.artwork_size, rules_artwork.SizeParams, True),
    "artwork_square": _kind(rules_artwork.artwork_square, NoParams, True),
    "artwork_color_mode": _kind(rules_artwork.artwork_color_mode, rules_artwork.ModeParams, True),
    "artwork_no_alpha": _kind(rules_artwork.artwork_no_alpha, NoParams, True),
    "artwork_not_progressive": _kind(rules_artwork.artwork_not_progressive, NoParams, True),
    "artwork_file_size": _kind(rules_artwork.artwork_file_size, rules_artwork.FileSizeParams, True),
    "audio_codec": _kind(rules_audio.audio_codec, rules_audio.CodecParams, True),
    "audio_sample_rate": _kind(rules_audio.audio_sample_rate, rules_audio.RateParams, True),
    "audio_bit_depth": _kind(rules_audio.audio_bit_depth, rules_audio.DepthParams, True),
    "audio_channels": _kind(rules_audio.audio_channels, rules_audio.ChannelParams, True),
    "audio_file_size": _kind(rules_audio.audio_file_size, rules_audio.FileSizeParams, True),
    "true_peak_max": _kind(rules_measured.true_peak_max, rules_measured.TruePeakParams, True),
    "loudness": _kind(rules_measured.loudness, rules_measured.LoudnessParams, True),
    "clipping": _kind(rules_measured.clipping, rules_measured.ClippingParams, True),
    "silence_max": _kind(rules_measured.silence_max, rules_measured.SilenceParams, True),
    "fake_hi_res": _kind(rules_measured.fake_hi_res, NoParams, True),
    "mono_in_stereo": _kind(rules_measured.mono_in_stereo, NoParams, True),
}
