"""Made the real files beside it (run here once, in a scratch venv with pillow==13.0.0 pillow-heif==1.8.1
av==18.1.0 numpy; not a test dependency). A rerun differs only where a file records when it was made."""

import wave

import av
import numpy as np
import pillow_heif
from PIL import Image

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
