from facesr_video.launch import run

run()
