"""Made the real files beside it (run here once, in a scratch venv with pillow==13.0.0 pillow-heif==1.8.1
av==18.1.0 numpy pypdf[crypto]==7.1.1; not a test dependency). A rerun differs only where a file records when
it was made.

HEIC brands other than `heic` and `heix` come from real files whose `ftyp` box is edited in place (same size,
4-byte brands swapped): libheif writes `heic` for 8-bit and `heix` for 10-bit HEVC, and has no encoder for
the layered (`heim`) or scalable (`heis`) profiles, whose brand a decoder only reads as "HEVC image"."""

import io
import wave
from pathlib import Path

import av
import numpy as np
import pillow_heif
from PIL import Image
from pypdf import PdfReader, PdfWriter

pillow_heif.register_heif_opener()
red, green = Image.new("RGB", (8, 8), (200, 30, 30)), Image.new("RGB", (8, 8), (30, 200, 30))
red.save("photo.jpg", "JPEG", quality=80)
red.save("photo.png", "PNG")
red.save("animated.png", "PNG", save_all=True, append_images=[green], duration=100, loop=0)
red.save("lossy.webp", "WEBP", lossless=False)
red.save("lossless.webp", "WEBP", lossless=True)
red.save("photo.heic", "HEIF")
red.save("photo.avif", "AVIF")
red.save("photo.jp2", "JPEG2000")
red.save("document.pdf", "PDF")
with wave.open("sound.wav", "wb") as w:
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(8000)
    w.writeframes(b"\0\0" * 100)


def video(name: str, container: str) -> None:
    out = av.open(name, "w", format=container)
    stream = out.add_stream("mpeg4", rate=10)
    stream.width, stream.height, stream.pix_fmt = 16, 16, "yuv420p"
    for shade in range(3):
        frame = av.VideoFrame.from_ndarray(np.full((16, 16, 3), shade * 60, np.uint8), format="rgb24")
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)
    out.close()


video("clip.mp4", "mp4")
video("clip.mov", "mov")
video("clip.avi", "avi")

# A JPEG with a second picture indexed by an MPF segment, as Android's Ultra HDR photos (gain map) and
# multi-picture cameras write: Pillow names these MPO.
red.save("photo-mpf.jpg", "MPO", save_all=True, append_images=[green], quality=80)

# 10-bit HEVC: libheif brands it `heix` (mif1, heix, miaf).
ten_bit = np.full((8, 8, 3), 50000, np.uint16)
pillow_heif.from_bytes(mode="RGB;16", size=(8, 8), data=ten_bit.tobytes()).save("photo-10bit.heic")


def rebrand(source: str, name: str, swaps: dict[bytes, bytes]) -> None:
    """Copy `source`, replacing brands in its `ftyp` box (major brand at 8, compatible ones from 16)."""
    data = bytearray(Path(source).read_bytes())
    assert data[4:8] == b"ftyp"
    end = int.from_bytes(data[:4], "big")
    for at in (8, *range(16, end, 4)):
        data[at : at + 4] = swaps.get(bytes(data[at : at + 4]), data[at : at + 4])
    Path(name).write_bytes(bytes(data))


rebrand("photo.heic", "photo-heim.heic", {b"heic": b"heim"})  # ftyp heim: mif1, heim, miaf
rebrand("photo.heic", "photo-heis.heic", {b"heic": b"heis"})  # ftyp heis: mif1, heis, miaf
# Major brand mif1, listing heix but not heic (mif1, heix, miaf): the major brand moved to the generic one.
data = bytearray(Path("photo-10bit.heic").read_bytes())
data[8:12] = b"mif1"
Path("photo-mif1-heix.heic").write_bytes(bytes(data))


def pdf(name: str, **encryption: str) -> None:
    writer = PdfWriter(clone_from=PdfReader("document.pdf"))
    if encryption:
        writer.encrypt(algorithm="AES-256", **encryption)
    out = io.BytesIO()
    writer.write(out)
    Path(name).write_bytes(out.getvalue())


# Permissions only (empty user password, as many invoices and statements are): anyone opens it.
pdf("document-permissions.pdf", user_password="", owner_password="owner")
# Opens only with a password: nobody but its author can read it, so nobody can check it.
pdf("document-password.pdf", user_password="secret", owner_password="owner")
