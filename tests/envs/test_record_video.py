"""gymnasium.wrappers.RecordVideo on Aggregation-v2 (the `video` extra installs moviepy, which writes the mp4)."""

import gymnasium as gym
import imageio.v3 as iio
import numpy as np

import leo_envs  # noqa: F401  (registers the ids)


def test_record_video_writes_an_mp4_of_an_aggregation_episode(tmp_path):
    env = gym.make("leo_envs/Aggregation-v2", scenario="tiny", render_mode="rgb_array")
    env = gym.wrappers.RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda ep: ep == 0,
                                   disable_logger=True)
    rng = np.random.default_rng(0)
    frames_per_episode = []
    for episode in range(3):  # the recorder closes episode 0's file when the next episode starts
        obs, _ = env.reset(seed=episode)
        frames, done = 1, False
        while not done:
            action = int(rng.choice(np.flatnonzero(obs["action_mask"])))
            obs, _, terminated, truncated, _ = env.step(action)
            frames, done = frames + 1, terminated or truncated
        frames_per_episode.append(frames)
    env.close()
    videos = sorted((tmp_path / "videos").glob("*.mp4"))
    assert [v.name for v in videos] == ["rl-video-episode-0.mp4"]
    video = iio.imread(videos[0])  # (frames, height, width, 3)
    assert video.ndim == 4 and video.shape[-1] == 3
    assert len(video) == frames_per_episode[0] >= 2
    assert video.std() > 0
