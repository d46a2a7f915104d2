"""Headless OpenGL renderer (moderngl on an EGL context; Mesa's llvmpipe on a CPU machine).

The figure is built every frame from smooth primitives around the solved joint centres:
tapered elliptical capsules (limbs, torso, neck, shoes), ellipsoids (pelvis, head, hair,
hands, eyes, nose, ears, mouth). Phong shading with a key and a fill light, a floor with a
procedural pattern, a wall with random panels, and a planar contact shadow.
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

import numpy as np

from formcheck.synth.camera import Camera
from formcheck.synth.rig import SIDES, Frame, _unit, foot_points
from formcheck.synth.skeleton import Skeleton

VERT = """
#version 330
in vec3 in_pos; in vec3 in_nrm; in vec3 in_col; in float in_mat;
uniform mat4 mvp;
out vec3 v_pos; out vec3 v_nrm; out vec3 v_col; out float v_mat;
void main() {
  v_pos = in_pos; v_nrm = in_nrm; v_col = in_col; v_mat = in_mat;
  gl_Position = mvp * vec4(in_pos, 1.0);
}
"""
FRAG = """
#version 330
in vec3 v_pos; in vec3 v_nrm; in vec3 v_col; in float v_mat;
uniform vec3 cam_pos; uniform vec3 key_dir; uniform vec3 fill_dir;
uniform vec3 floor_a; uniform vec3 floor_b; uniform float floor_kind; uniform float floor_scale;
out vec4 f_color;
float hash(vec2 p) { return fract(sin(dot(p, vec2(127.1, 311.7))) * 43758.5453); }
vec3 floor_color(vec3 p) {
  vec2 q = p.xz / floor_scale;
  if (floor_kind < 0.5) {               // tiles with grout
    vec2 c = floor(q); vec2 f = fract(q);
    float checker = mod(c.x + c.y, 2.0);
    vec3 col = mix(floor_a, floor_b, 0.35 * checker + 0.15 * hash(c));
    float g = step(0.03, f.x) * step(0.03, f.y);
    return mix(floor_a * 0.55, col, g);
  } else if (floor_kind < 1.5) {        // wooden planks
    float row = floor(q.y * 4.0);
    float off = hash(vec2(row, 1.0)) * 3.0;
    float plank = floor(q.x * 0.8 + off);
    float grain = 0.5 + 0.5 * sin((q.x * 40.0 + 6.0 * sin(q.y * 9.0 + row)) );
    vec3 col = mix(floor_a, floor_b, 0.5 * hash(vec2(row, plank)) + 0.12 * grain);
    float seam = step(0.02, fract(q.y * 4.0)) * step(0.01, fract(q.x * 0.8 + off));
    return col * (0.75 + 0.25 * seam);
  } else {                              // speckled carpet / gym mat
    return mix(floor_a, floor_b, 0.25 * hash(floor(p.xz * 300.0)));
  }
}
void main() {
  vec3 n = normalize(v_nrm);
  vec3 base = v_col;
  float shadow = 1.0;
  if (v_mat > 0.5) { base = floor_color(v_pos); n = vec3(0.0, 1.0, 0.0); }
  if (v_mat > 1.5) { shadow = 0.55; }
  vec3 V = normalize(cam_pos - v_pos);
  if (dot(n, V) < 0.0 && v_mat < 0.5) n = -n;
  float kd = max(dot(n, -key_dir), 0.0);
  float fd = max(dot(n, -fill_dir), 0.0);
  float hemi = 0.5 + 0.5 * n.y;
  vec3 H = normalize(-key_dir + V);
  float spec = pow(max(dot(n, H), 0.0), 24.0) * (v_mat < 0.5 ? 0.18 : 0.05);
  float rim = pow(1.0 - max(dot(n, V), 0.0), 3.0) * 0.12;
  vec3 col = base * (0.30 + 0.20 * hemi + 0.62 * kd * shadow + 0.22 * fd) + spec * shadow + rim * base;
  f_color = vec4(pow(clamp(col, 0.0, 1.0), vec3(1.0 / 1.15)), 1.0);
}
"""


def _uv_sphere(nlat: int = 12, nlon: int = 20):
    """Unit directions of a UV sphere split at the equator into two hemispheres (end 0 below,
    end 1 above) with duplicated equator rings, and triangle indices (tube included)."""
    lat_lo = np.linspace(-np.pi / 2, 0, nlat // 2 + 1)
    lat_hi = np.linspace(0, np.pi / 2, nlat // 2 + 1)
    lats = np.concatenate([lat_lo, lat_hi])
    ends = np.concatenate([np.zeros(len(lat_lo)), np.ones(len(lat_hi))])
    lon = np.linspace(0, 2 * np.pi, nlon, endpoint=False)
    la, lo = np.meshgrid(lats, lon, indexing="ij")
    d = np.stack([np.cos(la) * np.cos(lo), np.sin(la), np.cos(la) * np.sin(lo)], axis=-1).reshape(-1, 3)
    e = np.repeat(ends, nlon)
    nr = len(lats)
    idx = []
    for i in range(nr - 1):
        for j in range(nlon):
            a = i * nlon + j
            b = i * nlon + (j + 1) % nlon
            c = (i + 1) * nlon + j
            dd = (i + 1) * nlon + (j + 1) % nlon
            idx += [a, c, b, b, c, dd]
    return d, e, np.asarray(idx, dtype=np.int64)


_SPH_D, _SPH_E, _SPH_I = _uv_sphere(12, 20)
_SMALL_D, _SMALL_E, _SMALL_I = _uv_sphere(6, 10)


class MeshBuilder:
    def __init__(self) -> None:
        self.pos: list[np.ndarray] = []
        self.nrm: list[np.ndarray] = []
        self.col: list[np.ndarray] = []
        self.mat: list[np.ndarray] = []
        self.idx: list[np.ndarray] = []
        self.n = 0

    def add(self, pos, nrm, idx, color, mat=0.0) -> None:
        self.pos.append(pos)
        self.nrm.append(nrm)
        self.col.append(np.broadcast_to(np.asarray(color, dtype=float), pos.shape))
        self.mat.append(np.full(len(pos), mat))
        self.idx.append(idx + self.n)
        self.n += len(pos)

    def capsule(self, a, b, ra, rb, color, ant=None, small=False) -> None:
        """Tapered capsule from a to b; ra/rb are radii or (anterior, lateral) radius pairs."""
        D, E, faces = (_SMALL_D, _SMALL_E, _SMALL_I) if small else (_SPH_D, _SPH_E, _SPH_I)
        a, b = np.asarray(a, float), np.asarray(b, float)
        y = _unit(b - a)
        hint = np.array([1.0, 0.0, 0.0]) if ant is None else np.asarray(ant, float)
        if abs(hint @ y) > 0.95:
            hint = np.array([0.0, 0.0, 1.0])
        x = _unit(hint - (hint @ y) * y)
        z = np.cross(x, y)
        R = np.stack([x, y, z], axis=1)
        ra = np.atleast_1d(np.asarray(ra, float))
        rb = np.atleast_1d(np.asarray(rb, float))
        ra3 = np.array([ra[0], ra.min(), ra[-1]])
        rb3 = np.array([rb[0], rb.min(), rb[-1]])
        r = np.where(E[:, None] > 0.5, rb3, ra3)
        c = np.where(E[:, None] > 0.5, b, a)
        pos = c + (D * r) @ R.T
        nrm = (D / r) @ R.T
        self.add(pos, nrm, faces, color)

    def ellipsoid(self, center, R, radii, color, small=False) -> None:
        D, _, faces = (_SMALL_D, _SMALL_E, _SMALL_I) if small else (_SPH_D, _SPH_E, _SPH_I)
        radii = np.asarray(radii, float)
        pos = np.asarray(center, float) + (D * radii) @ R.T
        nrm = (D / radii) @ R.T
        self.add(pos, nrm, faces, color)

    def box(self, lo, hi, color, mat=0.0) -> None:
        lo, hi = np.asarray(lo, float), np.asarray(hi, float)
        faces = []
        for axis in range(3):
            for sgn in (0, 1):
                n = np.zeros(3)
                n[axis] = 1 if sgn else -1
                u, v = [k for k in range(3) if k != axis]
                quad = []
                for cu, cv in ((0, 0), (1, 0), (1, 1), (0, 1)):
                    p = lo.copy()
                    p[axis] = hi[axis] if sgn else lo[axis]
                    p[u] = hi[u] if cu else lo[u]
                    p[v] = hi[v] if cv else lo[v]
                    quad.append(p)
                faces.append((np.array(quad), n))
        for corners, n in faces:
            self.add(corners, np.tile(n, (4, 1)), np.array([0, 1, 2, 0, 2, 3]), color, mat)

    def quad(self, corners, normal, color, mat=0.0) -> None:
        self.add(np.asarray(corners, float), np.tile(normal, (4, 1)), np.array([0, 1, 2, 0, 2, 3]), color, mat)

    def arrays(self):
        pos = np.concatenate(self.pos).astype("f4")
        nrm = np.concatenate(self.nrm).astype("f4")
        col = np.concatenate(self.col).astype("f4")
        mat = np.concatenate(self.mat).astype("f4")[:, None]
        inter = np.hstack([pos, nrm, col, mat]).astype("f4")
        return inter, np.concatenate(self.idx).astype("i4")


@dataclass
class Look:
    skin: tuple
    shirt: tuple
    trousers: tuple
    shoes: tuple
    sole: tuple
    hair: tuple
    wall: tuple
    floor_a: tuple
    floor_b: tuple
    floor_kind: int
    floor_scale: float
    panels: list
    key_dir: tuple
    bg_side: float

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


def _hsv(h, s, v):
    return tuple(float(c) for c in colorsys.hsv_to_rgb(h % 1.0, s, v))


def random_look(rng: np.random.Generator) -> Look:
    skins = [(0.96, 0.80, 0.69), (0.90, 0.72, 0.58), (0.78, 0.57, 0.42), (0.62, 0.43, 0.30),
             (0.45, 0.30, 0.21), (0.86, 0.67, 0.52)]
    skin = skins[rng.integers(len(skins))]
    hs = rng.uniform()
    shirt = _hsv(hs, rng.uniform(0.45, 0.85), rng.uniform(0.55, 0.9))
    trousers = _hsv(hs + rng.uniform(0.3, 0.7), rng.uniform(0.2, 0.6), rng.uniform(0.15, 0.35))
    shoes = _hsv(rng.uniform(), rng.uniform(0.0, 0.6), rng.uniform(0.6, 0.95))
    hair = _hsv(rng.uniform(0.03, 0.1), rng.uniform(0.4, 0.8), rng.uniform(0.08, 0.35))
    wall = _hsv(rng.uniform(), rng.uniform(0.05, 0.3), rng.uniform(0.65, 0.92))
    fh = rng.uniform(0.05, 0.12)
    kind = int(rng.integers(3))
    fa = _hsv(fh, rng.uniform(0.3, 0.6), rng.uniform(0.45, 0.7)) if kind == 1 else \
        _hsv(rng.uniform(), rng.uniform(0.0, 0.3), rng.uniform(0.35, 0.7))
    fb = tuple(float(min(1.0, c * rng.uniform(0.75, 1.2))) for c in fa)
    panels = []
    for _ in range(int(rng.integers(2, 6))):
        panels.append({"u": float(rng.uniform(-4, 4)), "y": float(rng.uniform(0.3, 1.9)),
                       "w": float(rng.uniform(0.3, 1.4)), "h": float(rng.uniform(0.3, 1.2)),
                       "color": _hsv(rng.uniform(), rng.uniform(0.1, 0.7), rng.uniform(0.3, 0.95))})
    key = _unit(np.array([rng.uniform(-0.6, 0.6), -1.0, rng.uniform(-0.6, 0.6)]))
    return Look(skin=skin, shirt=shirt, trousers=trousers, shoes=shoes, sole=(0.93, 0.93, 0.9),
                hair=hair, wall=wall, floor_a=fa, floor_b=fb, floor_kind=kind,
                floor_scale=float(rng.uniform(0.4, 0.9)), panels=panels, key_dir=tuple(key.tolist()),
                bg_side=float(rng.uniform(2.0, 3.5)))


def build_figure(mb: MeshBuilder, fr: Frame, sk: Skeleton, look: Look) -> None:
    J, F = fr.joints, fr.frames
    H = sk.body.height_m
    g = sk.body.girth
    Rp, Rt, Rh = F["pelvis"], F["trunk"], F["head"]
    ant_p, ant_t = Rp[:, 0], Rt[:, 0]
    # Pelvis and torso.
    hipw = sk.hip_w
    mb.ellipsoid(J["mid_hip"] + Rp @ np.array([-0.01, 0.03, 0]), Rp,
                 [0.062 * H * g, 0.07 * H, (hipw / 2 + 0.055 * H) * g], look.trousers)
    mid_sh = 0.5 * (J["left_shoulder"] + J["right_shoulder"])
    waist = J["mid_hip"] + Rt @ np.array([0.0, 0.07 * H, 0])
    chest = mid_sh - Rt @ np.array([0.0, 0.045 * H, 0])
    mb.capsule(waist, chest, (0.058 * H * g, 0.085 * H * g), (0.064 * H * g, 0.10 * H * g), look.shirt, ant=ant_t)
    # Neck, head, face.
    mb.capsule(mid_sh - Rt @ np.array([0.01, 0.02, 0]), J["neck"] + Rh @ np.array([0.005, 0.02, 0]),
               0.030 * H * g, 0.027 * H * g, look.skin, ant=ant_t)
    sc = J["skull"]
    mb.ellipsoid(sc, Rh, [0.056 * H, 0.066 * H, 0.044 * H], look.skin)
    mb.ellipsoid(sc + Rh @ np.array([0.034 * H, -0.038 * H, 0]), Rh, [0.024 * H, 0.022 * H, 0.030 * H], look.skin)
    mb.ellipsoid(sc + Rh @ np.array([-0.010 * H, 0.014 * H, 0]), Rh, [0.054 * H, 0.060 * H, 0.046 * H], look.hair)
    for s in SIDES:
        e = J[f"{s}_eye"]
        mb.ellipsoid(e, Rh, [0.006 * H, 0.005 * H, 0.008 * H], (0.95, 0.95, 0.95), small=True)
        mb.ellipsoid(e + Rh @ np.array([0.004 * H, 0, 0]), Rh, [0.0035 * H, 0.0045 * H, 0.0045 * H],
                     (0.12, 0.08, 0.05), small=True)
        mb.ellipsoid(e + Rh @ np.array([0.001 * H, 0.010 * H, 0]), Rh, [0.004 * H, 0.002 * H, 0.010 * H],
                     look.hair, small=True)
        mb.ellipsoid(J[f"{s}_ear"], Rh, [0.012 * H, 0.018 * H, 0.006 * H],
                     tuple(c * 0.93 for c in look.skin), small=True)
    mb.ellipsoid(J["nose"] - Rh @ np.array([0.008 * H, 0.002 * H, 0]), Rh, [0.010 * H, 0.013 * H, 0.008 * H],
                 tuple(c * 0.95 for c in look.skin), small=True)
    mouth = 0.5 * (J["mouth_left"] + J["mouth_right"])
    mb.ellipsoid(mouth, Rh, [0.004 * H, 0.003 * H, 0.013 * H], (0.6, 0.28, 0.27), small=True)
    # Arms.
    for s in SIDES:
        sh, el, wr = J[f"{s}_shoulder"], J[f"{s}_elbow"], J[f"{s}_wrist"]
        mb.ellipsoid(sh, Rt, [0.034 * H * g] * 3, look.shirt)
        mid_ua = sh + 0.55 * (el - sh)
        mb.capsule(sh, mid_ua, sk.r_upper_arm * 1.2, sk.r_upper_arm * 1.12, look.shirt)
        mb.capsule(mid_ua - 0.02 * _unit(el - sh), el, sk.r_upper_arm * 0.95, sk.r_forearm * 1.05, look.skin)
        mb.capsule(el, wr, sk.r_forearm, sk.r_wrist, look.skin)
        fa = _unit(wr - el)
        Rfa = F[f"{s}_forearm"]
        hand_c = wr + fa * 0.045 * H
        Rhand = np.stack([_unit(Rfa[:, 0] - (Rfa[:, 0] @ fa) * fa), fa,
                          np.cross(_unit(Rfa[:, 0] - (Rfa[:, 0] @ fa) * fa), fa)], axis=1)
        mb.ellipsoid(hand_c, Rhand, [0.016 * H, 0.050 * H, 0.028 * H], look.skin)
    # Legs.
    for s in SIDES:
        hp, kn, an = J[f"{s}_hip"], J[f"{s}_knee"], J[f"{s}_ankle"]
        up = _unit(hp - kn)
        mb.capsule(hp + up * 0.02 * H, kn, sk.r_thigh * 1.05, sk.r_knee * 1.15, look.trousers, ant=ant_p)
        mb.capsule(kn, an + _unit(kn - an) * 0.03 * H, (sk.r_calf * 1.1, sk.r_calf), sk.r_ankle * 1.2,
                   look.trousers, ant=F[f"{s}_shank"][:, 0])
        mb.capsule(an + _unit(kn - an) * 0.03 * H, an, sk.r_ankle * 1.05, sk.r_ankle, look.skin)
        # Shoe: heel-to-ball body in the foot frame, toe cap from the ball to the toe tip.
        Rf = F[f"{s}_foot"]
        fp = foot_points(sk)
        fl, ah = sk.foot_len, sk.ankle_h
        heel_c = an + Rf @ np.array([-0.12 * fl, -ah + 0.040 * H * 0.5 + 0.012, 0])
        ball_c = J[f"{s}_ball"] + Rf @ np.array([0.0, 0.028, 0])
        fw = sk.foot_w / 2
        mb.capsule(heel_c, ball_c, (0.040, fw * 0.95), (0.030, fw * 1.1), look.shoes,
                   ant=Rf[:, 1])
        toe = J[f"{s}_foot_index"]
        toe_c = toe - _unit(toe - J[f"{s}_ball"]) * 0.02 + np.array([0, 0.008, 0])
        mb.capsule(ball_c, toe_c, (0.030, fw * 1.1), (0.018, fw * 0.8), look.shoes,
                   ant=np.array([0, 1.0, 0]))
        # Sole: a flattened white slab under the heel-to-ball body.
        sole_a = an + Rf @ (fp["heel"] + np.array([0.03, -0.012, 0]))
        sole_b = J[f"{s}_ball"] + Rf @ np.array([0, 0.006, 0])
        mb.capsule(sole_a, sole_b, (0.010, fw * 0.95), (0.008, fw * 1.05), look.sole, ant=Rf[:, 1], small=True)


def aruco_bits(dictionary: str, marker_id: int) -> np.ndarray:
    """(n+2, n+2) 0/1 cells of an ArUco marker, black border included (1 = white)."""
    import cv2

    d = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, dictionary))
    n = d.markerSize + 2
    return (cv2.aruco.generateImageMarker(d, marker_id, n) > 127).astype(int)


def aruco_corners_world(p: dict) -> np.ndarray:
    """(4, 3) world corners of the marker's black square on the floor, in OpenCV's corner order
    (top-left, top-right, bottom-right, bottom-left of the marker image). The image's x axis
    runs along `axis_x` (a horizontal unit vector), its y axis 90 deg clockwise from it seen
    from above, so the marker reads correctly from above."""
    c = np.array([p["centre"][0], 0.0, p["centre"][1]])
    ex = np.array([p["axis_x"][0], 0.0, p["axis_x"][1]])
    ey = np.cross(ex, np.array([0, 1.0, 0]))          # image y (down) on the floor
    h = p["size_m"] / 2
    return np.array([c - h * ex - h * ey, c + h * ex - h * ey, c + h * ex + h * ey, c - h * ex + h * ey])


def _aruco_marker(mb: MeshBuilder, p: dict) -> None:
    """A printed marker lying on the floor: a white sheet (one cell of margin) with the black
    and white cells on it, 1 and 2 mm above the floor."""
    bits = aruco_bits(p["dictionary"], p["id"])
    n = len(bits)
    tl, tr, br, bl = aruco_corners_world(p)
    ex, ey = (tr - tl) / n, (bl - tl) / n
    up = np.array([0, 1.0, 0])
    lift1, lift2 = up * 0.001, up * 0.002
    m = 1.0
    sheet = [tl - m * ex - m * ey, bl - m * ex + m * ey, br + m * ex + m * ey, tr + m * ex - m * ey]
    mb.quad([q + lift1 for q in sheet], up, (0.92, 0.92, 0.92))
    for i in range(n):
        for j in range(n):
            if bits[i, j]:
                continue
            o = tl + j * ex + i * ey + lift2
            mb.quad([o, o + ey, o + ex + ey, o + ex], up, (0.03, 0.03, 0.03))


class Renderer:
    def __init__(self, camera: Camera, look: Look, props: list | None = None, samples: int = 0) -> None:
        import moderngl

        try:
            self.ctx = moderngl.create_standalone_context(backend="egl")  # type: ignore[arg-type]  # stub: kwargs
        except Exception:  # pragma: no cover - a desktop with a display
            self.ctx = moderngl.create_standalone_context()
        self.cam = camera
        self.look = look
        self.soften = samples == 0
        W, Hh = camera.width, camera.height
        self.prog = self.ctx.program(vertex_shader=VERT, fragment_shader=FRAG)
        self.fbo_ms = self.ctx.framebuffer(
            color_attachments=[self.ctx.renderbuffer((W, Hh), samples=samples)],
            depth_attachment=self.ctx.depth_renderbuffer((W, Hh), samples=samples))
        self.fbo = self.ctx.framebuffer(color_attachments=[self.ctx.renderbuffer((W, Hh))],
                                        depth_attachment=self.ctx.depth_renderbuffer((W, Hh)))
        mvp = camera.gl_proj() @ camera.gl_view()
        self.prog["mvp"].write(mvp.T.astype("f4").tobytes())
        self.prog["cam_pos"].value = tuple(camera.position.tolist())
        self.key = np.asarray(look.key_dir)
        self.prog["key_dir"].value = tuple(self.key.tolist())
        fill = _unit(np.array([camera.position[0] - camera.target[0], -0.4, camera.position[2] - camera.target[2]]))
        self.prog["fill_dir"].value = tuple((-fill).tolist())
        self.prog["floor_a"].value = look.floor_a
        self.prog["floor_b"].value = look.floor_b
        self.prog["floor_kind"].value = float(look.floor_kind)
        self.prog["floor_scale"].value = look.floor_scale
        self.static = self._build_static(props or [])
        # The static scene (floor, wall, props) is drawn once; each frame starts from a copy.
        self.fbo_bg = self.ctx.framebuffer(
            color_attachments=[self.ctx.renderbuffer((W, Hh), samples=samples)],
            depth_attachment=self.ctx.depth_renderbuffer((W, Hh), samples=samples))
        st, sidx = self.static
        vbo = self.ctx.buffer(st.tobytes())
        ibo = self.ctx.buffer(sidx.astype("i4").tobytes())
        vao = self.ctx.vertex_array(self.prog, [(vbo, "3f 3f 3f 1f", "in_pos", "in_nrm", "in_col", "in_mat")],
                                    index_buffer=ibo)
        self.fbo_bg.use()
        self.fbo_bg.clear(0.7, 0.7, 0.7, 1.0)
        self.ctx.enable(self.ctx.DEPTH_TEST)
        vao.render()
        vao.release()
        vbo.release()
        ibo.release()

    def _build_static(self, props: list) -> tuple[np.ndarray, np.ndarray]:
        mb = MeshBuilder()
        c = self.cam
        mb.quad([[-30, 0, -30], [-30, 0, 30], [30, 0, 30], [30, 0, -30]], np.array([0, 1.0, 0]), (1, 1, 1), mat=1.0)
        # Wall behind the subject, facing the camera.
        f = c.target - c.position
        f[1] = 0
        f = _unit(f)
        r = np.cross(f, np.array([0, 1.0, 0]))
        base = c.target + f * self.look.bg_side
        base[1] = 0
        up = np.array([0, 8.0, 0])
        wall = [base - r * 30, base + r * 30, base + r * 30 + up, base - r * 30 + up]
        mb.quad(wall, -f, self.look.wall)
        mb.quad([base - r * 30 - f * 0.01, base + r * 30 - f * 0.01, base + r * 30 + np.array([0, 0.1, 0]) - f * 0.01,
                 base - r * 30 + np.array([0, 0.1, 0]) - f * 0.01], -f, tuple(x * 0.6 for x in self.look.wall))
        for pn in self.look.panels:
            o = base - f * 0.02 + r * pn["u"]
            y0, y1 = pn["y"], pn["y"] + pn["h"]
            mb.quad([o + np.array([0, y0, 0]), o + r * pn["w"] + np.array([0, y0, 0]),
                     o + r * pn["w"] + np.array([0, y1, 0]), o + np.array([0, y1, 0])], -f, pn["color"])
        for p in props:
            if p["type"] == "aruco":
                _aruco_marker(mb, p)
            if p["type"] == "box":
                hw = p["width"] / 2
                mb.box([p["x0"], 0.0, p["z"] - hw], [p["x1"], p["height"], p["z"] + hw], (0.55, 0.38, 0.22))
                mb.box([p["x0"] - 0.005, p["height"] - 0.004, p["z"] - hw - 0.005],
                       [p["x1"] + 0.005, p["height"] + 0.012, p["z"] + hw + 0.005], (0.2, 0.2, 0.2))
        return mb.arrays()

    def render(self, frames: list[Frame], sk: Skeleton) -> np.ndarray:
        """Render one image (H, W, 3) uint8; several frames are averaged (motion blur)."""
        acc: np.ndarray | None = None
        for fr in frames:
            img = self._render_one(fr, sk)
            acc = img.astype(np.float32) if acc is None else acc + img
        if len(frames) == 1:
            return img
        assert acc is not None
        return np.clip(acc / len(frames) + 0.5, 0, 255).astype(np.uint8)

    def _render_one(self, fr: Frame, sk: Skeleton) -> np.ndarray:
        mb = MeshBuilder()
        build_figure(mb, fr, sk, self.look)
        fig, fidx = mb.arrays()
        # Planar shadow: project the figure onto the floor along the key light.
        d = self.key
        sh = fig.copy()
        p = sh[:, :3].astype(np.float64)
        k = np.maximum(p[:, 1], 0.0) / max(-d[1], 1e-3)
        p = p + k[:, None] * d[None, :]
        p[:, 1] = 0.002
        sh[:, :3] = p
        sh[:, 9] = 2.0
        verts = np.vstack([sh, fig])
        idx = np.concatenate([fidx, fidx + len(sh)]).astype("i4")
        vbo = self.ctx.buffer(verts.tobytes())
        ibo = self.ctx.buffer(idx.tobytes())
        vao = self.ctx.vertex_array(self.prog, [(vbo, "3f 3f 3f 1f", "in_pos", "in_nrm", "in_col", "in_mat")],
                                    index_buffer=ibo)
        self.ctx.copy_framebuffer(self.fbo_ms, self.fbo_bg)
        self.fbo_ms.use()
        self.ctx.enable(self.ctx.DEPTH_TEST)
        n_sh = len(fidx)
        self.ctx.depth_func = "<="
        vao.render(vertices=n_sh, first=0)
        self.ctx.depth_func = "<"
        vao.render(vertices=n_sh, first=n_sh)
        self.ctx.copy_framebuffer(self.fbo, self.fbo_ms)
        data = self.fbo.read(components=3, alignment=1)
        vao.release()
        vbo.release()
        ibo.release()
        img: np.ndarray = np.frombuffer(data, np.uint8).reshape(self.cam.height, self.cam.width, 3)[::-1]
        if self.soften:
            import cv2  # opencv-contrib-python, installed with mediapipe

            # Lens softness; also stands in for MSAA, which is slow on llvmpipe.
            img = cv2.GaussianBlur(img, (3, 3), 0.7)
        return np.ascontiguousarray(img)

    def depth(self) -> np.ndarray:
        """Depth buffer of the last rendered image as camera-axis distance (H, W) metres."""
        raw = np.frombuffer(self.fbo.read(components=1, attachment=-1, dtype="f4"), np.float32)
        raw = raw.reshape(self.cam.height, self.cam.width)[::-1]
        n, f = self.cam.near, self.cam.far
        zn = raw * 2.0 - 1.0
        return (2.0 * n * f) / (f + n - zn * (f - n))

    def release(self) -> None:
        self.ctx.release()
