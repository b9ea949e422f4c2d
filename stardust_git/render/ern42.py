"""ERN 4.2: a SoundRecording carries its ISRC, P line and TechnicalDetails directly."""

from __future__ import annotations

from lxml import etree

from stardust_git.render import ern4
from stardust_git.render.ern import MessageView, RecordingView, avs, duration, sub


def build(view: MessageView) -> etree._Element:
    return ern4.build(view, sound_recording)


def sound_recording(parent: etree._Element, view: MessageView, recording: RecordingView) -> None:
    track = recording.track
    element = sub(parent, "SoundRecording")
    sub(element, "ResourceReference", recording.reference)
    sub(element, "Type", "MusicalWorkSoundRecording")
    sub(sub(element, "ResourceId"), "ISRC", track.isrc)
    ern4.recording_credits(element, view, recording)
    ern4.p_line(element, view.release.p_line)
    sub(element, "Duration", duration(track.duration))
    ern4.parental_warning(element, view, recording.parental_warning)
    sub(element, "LanguageOfPerformance", recording.language)
    technical_details(sub(element, "TechnicalDetails"), view, recording)


def technical_details(element: etree._Element, view: MessageView, recording: RecordingView) -> None:
    audio = recording.audio
    sub(element, "TechnicalResourceDetailsReference", recording.technical_reference)
    avs(element, "AudioCodecType", "AudioCodecType", audio.codec, view.version, view.namespace)
    sub(element, "NumberOfChannels", str(audio.channels))
    sub(element, "SamplingRate", str(audio.sample_rate), UnitOfMeasure="Hz")
    if audio.bits_per_sample:
        sub(element, "BitsPerSample", str(audio.bits_per_sample))
    if recording.track.preview_start is not None:
        sub(element, "IsPreview", "false")
        preview = sub(element, "PreviewDetails")
        sub(preview, "StartPoint", str(recording.track.preview_start))
        sub(preview, "ExpressionType", "Instructive")
    file = recording.file
    ern4.hashed_file(element, file.name, file.md5, file.size)
