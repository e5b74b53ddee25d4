import { Controller, Get, Res, UseGuards } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';

import { Public } from '../auth/auth.decorators';
import { MetricsTokenGuard } from './metrics-token.guard';

/**
 * Prometheus scrape endpoint. A scraper sends METRICS_TOKEN as a bearer token,
 * not a user's JWT, so the global guard skips the route (@Public()) and
 * MetricsTokenGuard checks it. Without METRICS_TOKEN the route is open.
 */
@ApiExcludeController()
@Public()
@UseGuards(MetricsTokenGuard)
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  override index(@Res({ passthrough: true }) response: unknown) {
    return super.index(response);
  }
}
